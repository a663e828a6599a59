"""阳光慈善 disclosure pages on the demo data."""


def test_pages_render(demo_client):
    for url in ("/disclosure/", "/disclosure/ledger", "/disclosure/verify", "/disclosure/funds",
                "/disclosure/enterprises", "/disclosure/programmes/yimi", "/disclosure/funds/F-ANXIN",
                "/disclosure/enterprises/E-1", "/disclosure/needs/J-1", "/needs/J-1",
                "/needs/J-1/card", "/disclosure/ledger?kind=grant"):
        r = demo_client.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True)[:3000])
