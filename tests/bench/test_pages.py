from bench.bench_pages import describe


class TestDescribe:
    def test_it_names_counts_and_date_hierarchies_by_table(self):
        assert describe('SELECT COUNT(*) AS "__count" FROM "peer_requests_peerrequest"') == (
            "COUNT(*) FROM peer_requests_peerrequest"
        )
        sql = (
            'SELECT DISTINCT DATE_TRUNC(\'year\', "peer_requests_peerrequest"."created_at" AT TIME ZONE '
            '\'America/New_York\') AS "datetimefield" FROM "peer_requests_peerrequest" WHERE x IS NOT NULL'
        )
        assert describe(sql) == "DISTINCT DATE_TRUNC('year') FROM peer_requests_peerrequest WHERE …"

    def test_it_names_a_plain_select_by_its_table(self):
        sql = 'SELECT "a"."id", "a"."code" FROM "peer_requests_peerrequest" INNER JOIN "b" ON (1 = 1)'
        assert describe(sql) == "rows FROM peer_requests_peerrequest"
