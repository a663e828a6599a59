"""The read side: pages and exports that combine several domains (needs, donors, funds) —
platform totals, a need's pages, browsing and search, fund/enterprise/programme pages, the
readable ledger, exports and the 3-month disclosure rule. Imported by web/ and jobs/ only;
domain packages never import it."""
