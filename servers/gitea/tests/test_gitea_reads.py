"""Read tools: trimmed structured output, caps with explicit truncation, paging, permissions as the caller."""

from __future__ import annotations

import pytest

from fleet_gitea.fake import FakeGitea
from fleet_gitea.testing import Harness, R, mcp_in_front


async def test_get_me_is_the_caller(h: Harness) -> None:
    assert (await h.ok("get_me", subject="bob"))["login"] == "bob"


async def test_my_repos_and_search_hide_private_repos_from_others(h: Harness) -> None:
    alice = {r["full_name"] for r in (await h.ok("list_my_repos"))["items"]}
    bob = {r["full_name"] for r in (await h.ok("list_my_repos", subject="bob"))["items"]}
    assert alice == {"alice/demo", "alice/notes"}
    assert bob == {"alice/demo", "bob/tools"}
    found = await h.ok("search_repos", {"query": "notes"}, subject="bob")
    assert found["items"] == []
    found = await h.ok("search_repos", {"query": "notes"})
    assert [r["full_name"] for r in found["items"]] == ["alice/notes"]


async def test_repo_details_say_what_the_caller_may_do(h: Harness) -> None:
    assert (await h.ok("get_repo", R, subject="bob"))["can_push"] is False
    details = await h.ok("get_repo", R, subject="carol")
    assert details["can_push"] is True
    assert details["default_branch"] == "main"
    assert "owner" not in details  # no nested user objects


async def test_branches_tags_and_paged_commits(h: Harness) -> None:
    branches = await h.ok("list_branches", R)
    assert {b["name"] for b in branches["items"]} == {"main", "feature/login", "docs/typo"}
    assert (await h.ok("list_tags", R))["items"][0]["name"] == "v0.1.0"
    first = await h.ok("list_commits", {**R, "limit": 1})
    assert first["items"][0]["title"] == "Add docs and assets"
    assert first["next_page"] == 2
    assert first["total"] == 2
    second = await h.ok("list_commits", {**R, "limit": 1, "page": first["next_page"]})
    assert second["items"][0]["title"] == "Initial commit"
    assert second["next_page"] is None
    login = await h.ok("list_commits", {**R, "ref": "feature/login", "path": "src/login.py"})
    assert [c["title"] for c in login["items"]] == ["Add login"]


async def test_commit_with_diff_stats_on_a_branch_with_a_slash(h: Harness) -> None:
    commit = await h.ok("get_commit", {**R, "sha": "feature/login"})
    assert commit["title"] == "Add login"
    assert commit["additions"] == 3
    assert commit["deletions"] == 1
    assert {f["filename"]: f["status"] for f in commit["files"]} == {
        "src/login.py": "added",
        "src/app.py": "modified",
    }
    assert commit["files_truncated"] is False
    assert "not found as alice" in await h.error("get_commit", {**R, "sha": "0" * 40})


async def test_file_contents_text_binary_and_size_cap(h: Harness) -> None:
    readme = await h.ok("get_file_contents", {**R, "path": "README.md"})
    assert readme["content"].startswith("# demo")
    assert readme["binary"] is False
    assert readme["truncated"] is False
    assert len(readme["sha"]) == 40
    logo = await h.ok("get_file_contents", {**R, "path": "assets/logo.png"})
    assert logo["binary"] is True
    assert logo["content"] is None
    big = await h.ok("get_file_contents", {**R, "path": "data/big.txt"})
    assert big["truncated"] is True
    assert big["size"] > 65_536
    assert len(big["content"]) == 65_536
    on_branch = await h.ok("get_file_contents", {**R, "path": "src/login.py", "ref": "feature/login"})
    assert "def login" in on_branch["content"]


async def test_file_contents_errors(h: Harness) -> None:
    assert "is a directory" in await h.error("get_file_contents", {**R, "path": "src"})
    assert "not found as alice" in await h.error("get_file_contents", {**R, "path": "missing.txt"})
    assert "invalid file path" in await h.error("get_file_contents", {**R, "path": "src/../../etc/passwd"})


async def test_directory_tree_top_level_subdir_and_recursive(h: Harness) -> None:
    top = await h.ok("get_directory_tree", {**R, "ref": "main"})
    assert {e["path"] for e in top["entries"]} == {
        *("README.md", "assets", "data", "docs", "src"),
        *("theme", "latest-docs"),  # a submodule, and an entry type the tool didn't know (regression)
    }
    assert {e["type"] for e in top["entries"]} == {"blob", "tree", "commit", "symlink"}
    src = await h.ok("get_directory_tree", {**R, "ref": "feature/login", "path": "src"})
    assert {e["path"] for e in src["entries"]} == {"src/app.py", "src/login.py"}
    everything = await h.ok("get_directory_tree", {**R, "ref": "main", "recursive": True})
    assert "docs/guide.md" in {e["path"] for e in everything["entries"]}
    assert everything["truncated"] is False
    assert "no directory" in await h.error("get_directory_tree", {**R, "ref": "main", "path": "nope"})


async def test_issues_list_search_and_get_with_comments(h: Harness) -> None:
    listed = await h.ok("list_issues", R)
    assert [i["number"] for i in listed["items"]] == [1]  # open issues only, PRs excluded
    issue = listed["items"][0]
    assert issue["labels"] == ["bug"]
    assert issue["assignees"] == ["alice"]
    assert issue["milestone"] == "v1.0"
    assert issue["author"] == "bob"
    closed = await h.ok("list_issues", {**R, "state": "closed"})
    assert [i["title"] for i in closed["items"]] == ["Add dark mode"]
    labelled = await h.ok("list_issues", {**R, "state": "all", "labels": ["enhancement"]})
    assert [i["number"] for i in labelled["items"]] == [2]
    found = await h.ok("search_issues", {"query": "secret"}, subject="bob")
    assert found["items"] == []  # alice/notes#1 is invisible to bob
    found = await h.ok("search_issues", {"query": "secret"})
    assert [(i["repository"], i["number"]) for i in found["items"]] == [("alice/notes", 1)]
    detail = await h.ok("get_issue", {**R, "number": 1})
    assert [c["author"] for c in detail["comment_list"]] == ["alice", "bob"]
    assert detail["comments_truncated"] is False
    assert "not found" in await h.error("get_issue", {**R, "number": 99})


async def test_pull_requests_list_get_diff_and_reviews(h: Harness) -> None:
    pulls = await h.ok("list_pull_requests", R)
    assert [(p["number"], p["head"], p["base"]) for p in pulls["items"]] == [(3, "feature/login", "main")]
    pr = await h.ok("get_pull_request", {**R, "number": 3})
    assert pr["author"] == "carol"
    assert {f["filename"] for f in pr["files"]} == {"src/app.py", "src/login.py"}
    assert pr["changed_files"] == 2
    assert pr["files_truncated"] is False
    diff = await h.ok("get_pull_request_diff", {**R, "number": 3})
    assert "+def login():" in diff["diff"]
    assert diff["truncated"] is False
    reviews = await h.ok("list_pull_request_reviews", {**R, "number": 3})
    assert [(r["reviewer"], r["state"]) for r in reviews["items"]] == [("alice", "COMMENT")]
    assert "not found" in await h.error("get_pull_request", {**R, "number": 1})  # an issue, not a PR


async def test_pull_request_diff_is_capped_with_a_marker(shared: Harness, fake: FakeGitea) -> None:
    data = fake.repos["alice/demo"].commits[fake.repos["alice/demo"].branches["main"]].tree["data/big.txt"]
    fake._commit(fake.repos["alice/demo"], "feature/login", "Grow", "carol", {"data/big.txt": data + data})
    async with mcp_in_front(fake, shared.gitea_url, max_diff_bytes=2048) as running:
        diff = await running.ok("get_pull_request_diff", {**R, "number": 3})
    assert diff["truncated"] is True
    assert diff["diff"].endswith("… [truncated]")
    assert len(diff["diff"].encode()) < 2048 + 64


async def test_releases_labels_milestones(h: Harness) -> None:
    release = (await h.ok("list_releases", R))["items"][0]
    assert (release["tag_name"], release["author"], release["prerelease"]) == ("v0.1.0", "alice", True)
    assert [lb["name"] for lb in (await h.ok("list_labels", R))["items"]] == ["bug", "enhancement"]
    milestone = (await h.ok("list_milestones", R))["items"][0]
    assert (milestone["title"], milestone["open_issues"]) == ("v1.0", 1)
    assert (await h.ok("list_milestones", {**R, "state": "closed"}))["items"] == []


async def test_actions_runs_jobs_and_log_tail(h: Harness) -> None:
    runs = await h.ok("list_action_runs", R)
    assert [(r["id"], r["conclusion"]) for r in runs["items"]] == [(43, ""), (42, "failure"), (41, "success")]
    failed = await h.ok("list_action_runs", {**R, "status": "failure"})
    assert [r["id"] for r in failed["items"]] == [42]
    jobs = (await h.ok("list_action_jobs", {**R, "run_id": 42}))["result"]
    assert jobs == [{"id": 52, "run_id": 42, "name": "test", "status": "completed", "conclusion": "failure",
                     "failed_steps": ["run tests"]}]  # fmt: skip
    tail = await h.ok("get_job_log_tail", {**R, "job_id": 51, "lines": 3})
    assert [line.split(" ", 1)[1] for line in tail["lines"]] == [
        "step output line 498",
        "step output line 499",
        "step output line 500",
    ]
    assert tail["failed_steps"] == []  # a green job
    assert tail["total_lines"] == 500
    assert tail["truncated"] is True
    capped = await h.ok("get_job_log_tail", {**R, "job_id": 51, "lines": 5000})
    assert len(capped["lines"]) == 200  # max_log_lines
    assert "not found" in await h.error("get_job_log_tail", {**R, "job_id": 999})
    assert "not found" in await h.error("list_action_jobs", {**R, "run_id": 999})


async def test_wiki_pages(h: Harness) -> None:
    pages = (await h.ok("list_wiki_pages", R))["items"]
    assert {p["page_name"] for p in pages} == {"Home", "Deploy-Guide", "Caf%C3%A9-Notes", "Imported-Page"}
    page = await h.ok("get_wiki_page", {**R, "page_name": "Deploy Guide"})
    assert page["content"].startswith("1. Build")
    assert page["truncated"] is False
    assert "not found" in await h.error("get_wiki_page", {**R, "page_name": "Nope"})


async def test_a_huge_job_log_still_gives_its_tail(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    import fleet_gitea.ops_ci

    monkeypatch.setattr(fleet_gitea.ops_ci, "MAX_LOG_TAIL_BYTES", 150)  # as if the log were gigabytes
    tail = await h.ok("get_job_log_tail", {**R, "job_id": 51, "lines": 2})
    assert [line.split(" ", 1)[1] for line in tail["lines"]] == [
        "step output line 499",
        "step output line 500",
    ]
    assert tail["total_lines"] is None
    assert tail["truncated"] is True


async def test_wiki_page_names_are_escaped_once(h: Harness) -> None:
    # Regression: the escaped sub_url from list_wiki_pages was escaped again (…/Caf%25C3%25A9-Notes).
    mark = len(h.fake.requests)
    for name in ("Caf%C3%A9 Notes", "Caf%C3%A9-Notes", "Café Notes"):
        page = await h.ok("get_wiki_page", {**R, "page_name": name})
        assert page["content"] == "Espresso first."
    assert {r.path for r in h.since(mark)} == {"/api/v1/repos/alice/demo/wiki/page/Caf%C3%A9-Notes"}
    assert "invalid wiki page name" in await h.error("get_wiki_page", {**R, "page_name": "a%2Fb"})


async def test_wiki_page_with_undecodable_content_is_a_clear_error(h: Harness) -> None:
    # Regression: content_base64 is only typed `string`; a non-base64 one crashed the tool.
    text = await h.error("get_wiki_page", {**R, "page_name": "Imported-Page"})
    assert text == (
        "Error executing tool get_wiki_page: Gitea sent wiki page 'Imported-Page' with content that is "
        "not valid base64"
    )


async def test_a_failing_job_log_shows_the_failing_step_first(h: Harness) -> None:
    log = await h.ok("get_job_log_tail", {**R, "job_id": 52, "lines": 3})
    (step,) = log["failed_steps"]
    assert (step["step"], step["conclusion"], step["truncated"]) == ("run tests", "failure", False)
    assert [line.split(" ", 1)[1] for line in step["lines"]] == [
        *(f"collecting tests {i}" for i in range(5)),
        "FAILED tests/test_login.py::test_login - AssertionError",
    ]
    assert [line.split(" ", 1)[1] for line in log["lines"]] == [f"post-run cleanup {i}" for i in (27, 28, 29)]
