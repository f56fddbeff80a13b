"""Structured tool results: what an agent needs, not Gitea's full objects (users are logins)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

TRUNCATION_MARK = "\n… [truncated]"


class Listing(BaseModel, Generic[T]):
    items: list[T]
    next_page: int | None = Field(description="Pass as `page` for more; null when this is the last page")
    total: int | None = Field(default=None, description="Total matches, when Gitea reports it")


class Me(BaseModel):
    login: str
    full_name: str
    email: str
    is_admin: bool
    html_url: str


class RepoSummary(BaseModel):
    full_name: str
    description: str
    private: bool
    fork: bool
    archived: bool
    default_branch: str
    stars: int
    open_issues: int
    open_pull_requests: int
    updated_at: str
    html_url: str


class RepoDetails(RepoSummary):
    language: str
    topics: list[str]
    clone_url: str
    can_push: bool = Field(description="Whether you may push / write to this repository")
    is_admin: bool = Field(description="Whether you administer this repository")
    has_issues: bool
    has_wiki: bool
    has_pull_requests: bool
    has_actions: bool
    release_count: int
    branch_count: int


class Branch(BaseModel):
    name: str
    commit_sha: str
    commit_title: str
    protected: bool
    can_push: bool


class Tag(BaseModel):
    name: str
    commit_sha: str
    message: str


class CommitSummary(BaseModel):
    sha: str
    title: str = Field(description="First line of the commit message")
    author: str
    date: str
    html_url: str


class CommitFile(BaseModel):
    filename: str
    status: str


class CommitDetail(CommitSummary):
    message: str
    parents: list[str]
    additions: int
    deletions: int
    files: list[CommitFile]
    files_truncated: bool = Field(description="True when more files changed than are listed")


class FileContent(BaseModel):
    path: str
    ref: str
    sha: str = Field(description="Blob SHA: pass it to create_or_update_file to update this file")
    size: int
    binary: bool
    content: str | None = Field(description="UTF-8 text; null for binary files")
    truncated: bool = Field(description="True when content was cut at the size cap")


class TreeEntry(BaseModel):
    path: str
    type: str = Field(description="blob (file), tree (directory), commit (submodule) or what Gitea says")
    size: int


class Tree(BaseModel):
    ref: str
    entries: list[TreeEntry]
    truncated: bool = Field(description="True when the tree has more entries than are listed")
    total: int


class IssueSummary(BaseModel):
    repository: str
    number: int
    title: str
    state: str
    is_pull_request: bool
    author: str
    labels: list[str]
    assignees: list[str]
    milestone: str | None
    comments: int
    updated_at: str
    html_url: str


class Comment(BaseModel):
    id: int
    author: str
    body: str
    created_at: str


class IssueDetail(IssueSummary):
    body: str
    comment_list: list[Comment]
    comments_truncated: bool


class PullSummary(BaseModel):
    number: int
    title: str
    state: str
    author: str
    head: str
    base: str
    draft: bool
    merged: bool
    mergeable: bool
    updated_at: str
    html_url: str


class ChangedFile(BaseModel):
    filename: str
    status: str
    additions: int
    deletions: int


class PullDetail(PullSummary):
    body: str
    head_sha: str
    labels: list[str]
    assignees: list[str]
    merged_by: str | None
    additions: int
    deletions: int
    changed_files: int
    files: list[ChangedFile]
    files_truncated: bool


class Diff(BaseModel):
    number: int
    diff: str
    truncated: bool = Field(description="True when the diff was cut at the size cap")


class Review(BaseModel):
    id: int
    reviewer: str
    state: str
    body: str
    submitted_at: str
    stale: bool
    dismissed: bool


class Release(BaseModel):
    id: int
    tag_name: str
    name: str
    draft: bool
    prerelease: bool
    author: str
    target: str
    published_at: str
    body: str
    html_url: str


class Label(BaseModel):
    id: int
    name: str
    color: str
    description: str


class Milestone(BaseModel):
    id: int
    title: str
    state: str
    open_issues: int
    closed_issues: int
    due_on: str | None


class ActionRun(BaseModel):
    id: int
    run_number: int
    title: str
    workflow: str
    status: str
    conclusion: str
    event: str
    branch: str
    head_sha: str
    started_at: str
    html_url: str


class ActionJob(BaseModel):
    id: int
    run_id: int
    name: str
    status: str
    conclusion: str
    failed_steps: list[str]


class StepLog(BaseModel):
    step: str
    conclusion: str
    lines: list[str]
    truncated: bool


class JobLog(BaseModel):
    job_id: int
    failed_steps: list[StepLog] = Field(
        default_factory=list,
        description="Each failed step's own log lines, first (capped); the tail of the whole log follows",
    )
    lines: list[str]
    total_lines: int | None = Field(
        description="Lines in the whole log; null when the log was too big to count"
    )
    truncated: bool = Field(description="True when earlier lines were dropped (only the tail is shown)")


class WikiPageSummary(BaseModel):
    title: str
    page_name: str = Field(description="Pass to get_wiki_page")
    last_commit: str


class WikiPage(BaseModel):
    title: str
    content: str
    truncated: bool
    html_url: str


class IssueLabels(BaseModel):
    number: int
    labels: list[str]


class FileWrite(BaseModel):
    path: str
    branch: str
    commit_sha: str
    sha: str = Field(description="The file's new blob SHA (for a further update)")
    html_url: str


class MergeResult(BaseModel):
    number: int
    merged: bool
    method: str
    base: str


# -- issue 17: review comments, CI status, compare, patches, notifications, tracking, deletes -------


class ReviewComment(BaseModel):
    id: int
    review_id: int
    author: str
    path: str
    line: int | None = Field(description="Line in the new file (null for a comment on a removed line)")
    old_line: int | None = Field(description="Line in the old file, for comments on removed lines")
    body: str
    diff_hunk: str = Field(description="The diff lines the comment is attached to (capped)")
    resolved_by: str | None
    html_url: str


class StatusCheck(BaseModel):
    context: str = Field(description="The check's name, e.g. ci/build")
    state: str = Field(description="pending, success, error, failure or warning")
    description: str
    target_url: str


class CommitStatus(BaseModel):
    ref: str
    sha: str
    state: str = Field(description="Combined: success only if every check succeeded; '' = no checks")
    checks: list[StatusCheck]
    total: int
    failing: list[str] = Field(description="Contexts of the checks that failed or errored")


class PullStatus(BaseModel):
    number: int
    head: str
    head_sha: str
    mergeable: bool
    status: CommitStatus
    runs: list[ActionRun] = Field(description="Gitea Actions runs on the head commit, newest first")


class Comparison(BaseModel):
    base: str
    head: str
    total_commits: int
    commits: list[CommitSummary] = Field(description="Up to 50, oldest first")
    files: list[CommitFile] = Field(description="Files changed between base and head (up to 100)")
    truncated: bool


class Patch(BaseModel):
    sha: str
    patch: str = Field(description="git format-patch output: headers, message, diff")
    truncated: bool


class Notification(BaseModel):
    id: int
    repository: str
    type: str = Field(description="Issue, Pull, Commit or Repository")
    title: str
    state: str
    unread: bool
    updated_at: str
    html_url: str


class DeletedThing(BaseModel):
    deleted: str = Field(description="What was deleted, in words")


class WorkflowDispatch(BaseModel):
    workflow: str
    ref: str
    run_id: int | None = Field(description="The new run's id when Gitea reports it")
    html_url: str
