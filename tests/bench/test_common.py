from bench import common


class TestWriteSection:
    def test_it_appends_a_missing_section(self, tmp_path, monkeypatch):
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
        monkeypatch.setattr(common, "DOC", doc)
        common.write_section("reports", "new $1 \\1")
        text = doc.read_text()
        assert "<!-- bench:reports -->\nnew $1 \\1\n<!-- /bench:reports -->" in text
        assert "old" not in text
        assert "Intro." in text and "<!-- bench:pages -->\npages\n<!-- /bench:pages -->" in text


class TestMachine:
    def test_it_names_cores_and_cpu(self):
        line = common.machine()
        assert "cores (`nproc`)" in line
        assert common.cpu_model() in line
