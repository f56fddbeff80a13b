# syntax=docker/dockerfile:1
# The compose stack's one-shot `gitea-init` job: the Gitea image (its admin CLI) plus python3 running
# fleet_gitea/provision.py (standard library only), as the `git` user like Gitea itself. It creates the
# site-admin service account once and writes its token to the gitea-token volume, which mcp-gitea reads
# (FLEET_GITEA_TOKEN_FILE). Built from the repository root (compose: context ".").
FROM gitea/gitea:1.24
RUN apk add --no-cache python3
COPY servers/gitea/src/fleet_gitea/provision.py /opt/fleet/gitea_provision.py
USER git
ENTRYPOINT ["python3", "/opt/fleet/gitea_provision.py"]
