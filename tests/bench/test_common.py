import math

from bench import common


class TestWriteSection:
    def test_it_appends_a_missing_section(self, tmp_path, monkeypatch):
        monkeypatch.delenv("BENCH_DOC", raising=False)
        monkeypatch.setattr(common, "DOC", tmp_path / "benchmarks.md")
        common.write_section("reports", "| a | b |")
        assert (tmp_path / "benchmarks.md").read_text() == (
            "# Benchmarks\n\n<!-- bench:reports -->\n| a | b |\n<!-- /bench:reports -->\n"
        )

    def test_it_replaces_only_its_own_section(self, tmp_path, monkeypatch):
        doc = tmp_path / "benchmarks.md"
        doc.write_text(
            "# Benchmarks\n\nIntro.\n\n<!-- bench:reports -->\nold\n<!-- /bench:reports -->\n\n"
            "<!-- bench:pages -->\npages\n<!-- /bench:pages -->\n"
        )
        monkeypatch.delenv("BENCH_DOC", raising=False)
        monkeypatch.setattr(common, "DOC", doc)
        common.write_section("reports", "new $1 \\1")
        text = doc.read_text()
        assert "<!-- bench:reports -->\nnew $1 \\1\n<!-- /bench:reports -->" in text
        assert "old" not in text
        assert "Intro." in text and "<!-- bench:pages -->\npages\n<!-- /bench:pages -->" in text

    def test_bench_doc_writes_elsewhere(self, tmp_path, monkeypatch):
        monkeypatch.setattr(common, "DOC", tmp_path / "benchmarks.md")
        monkeypatch.setenv("BENCH_DOC", str(tmp_path / "other.md"))
        common.write_section("pages", "x")
        assert not (tmp_path / "benchmarks.md").exists()
        assert "<!-- bench:pages -->\nx\n" in (tmp_path / "other.md").read_text()

    def test_publish_prints_and_writes_unless_told_not_to(self, tmp_path, monkeypatch, capsys):
        monkeypatch.setenv("BENCH_DOC", str(tmp_path / "doc.md"))
        common.publish("pages", "body", no_doc=True)
        assert capsys.readouterr().out == "\nbody\n"
        assert not (tmp_path / "doc.md").exists()
        common.publish("pages", "body", no_doc=False)
        assert "<!-- bench:pages -->\nbody\n" in (tmp_path / "doc.md").read_text()


class TestMachine:
    def test_it_names_cores_and_cpu(self):
        line = common.machine()
        assert "cores (`nproc`)" in line
        assert common.cpu_model() in line


class TestMeasuredOn:
    def test_the_plain_line(self, monkeypatch):
        monkeypatch.setattr(common, "today", lambda: "2026-11-24")
        monkeypatch.setattr(common, "machine", lambda: "2 cores")
        assert common.measured_on("`x.py`", loads=("1.0", "2.0")) == (
            "Command: `x.py`. Measured 2026-11-24 on 2 cores; 1-minute load average 1.0 before and 2.0 "
            "after the run (other work shares the machine)."
        )

    def test_what_it_needs_its_stack_and_the_run(self, monkeypatch):
        monkeypatch.setattr(common, "today", lambda: "2026-11-24")
        monkeypatch.setattr(common, "machine", lambda: "2 cores")
        line = common.measured_on(
            "`x.py`", loads=("1.0", "2.0"), needs=" (needs wrk)", stack=", PostgreSQL 16", run="it, in 9 s"
        )
        assert line == (
            "Command: `x.py` (needs wrk). Measured 2026-11-24 on 2 cores, PostgreSQL 16; 1-minute load "
            "average 1.0 before and 2.0 after it, in 9 s (other work shares the machine)."
        )


class TestPercentile:
    def test_it_takes_the_nearest_rank(self):
        values = list(range(1, 101))
        assert common.percentile(values, 0.50) == 50
        assert common.percentile(values, 0.99) == 99
        assert common.percentile(values, 1.0) == 100

    def test_it_takes_the_smallest_sample_covering_the_share(self):
        samples = [float(n) for n in range(30, 0, -1)]  # 1 to 30, unordered
        assert common.percentile(samples, 0.5) == 15.0
        assert common.percentile(samples, 0.95) == 29.0  # ceil(28.5) = the 29th of 30

    def test_p99_of_fifty_values_is_the_largest(self):
        assert common.percentile(range(50), 0.99) == 49

    def test_one_sample_is_every_percentile(self):
        assert common.percentile([0.2], 0.5) == common.percentile([0.2], 0.95) == 0.2

    def test_no_samples_give_nan(self):
        assert math.isnan(common.percentile([], 0.99))


class TestDatabases:
    def test_it_refuses_a_database_outside_its_prefix(self):
        url = "postgres://postgres@127.0.0.1:5432/peerrx_dev"
        for helper in (common.recreate_database, common.drop_database):
            try:
                helper(url, "peerrx_bench_inbound")
            except SystemExit as refused:
                assert "refusing to drop 'peerrx_dev'" in str(refused)
            else:
                raise AssertionError(f"{helper.__name__} did not refuse")

    def test_database_name(self):
        assert common.database_name("postgres://u@h:5432/peerrx_bench_fanout") == "peerrx_bench_fanout"


def test_production_env_overrides_and_adds(tmp_path):
    env = common.production_env(
        database_url="postgres:///d",
        broker_url="redis:///1",
        var_dir=tmp_path,
        ALLOWED_HOSTS="x",
        SMS_BACKEND="c",
    )
    assert env["DEBUG"] == "false" and env["DJANGO_SETTINGS_MODULE"] == "peerrx.settings"
    assert (env["ALLOWED_HOSTS"], env["SMS_BACKEND"], env["PEERRX_VAR_DIR"]) == ("x", "c", str(tmp_path))
    assert (env["DATABASE_URL"], env["CELERY_BROKER_URL"]) == ("postgres:///d", "redis:///1")


def test_the_argument_parser_has_no_doc():
    assert common.argument_parser("doc").parse_args(["--no-doc"]).no_doc
