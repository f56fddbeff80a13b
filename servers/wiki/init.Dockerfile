# syntax=docker/dockerfile:1
# The compose stack's one-shot `wiki-init` job: the MediaWiki image (PHP, the maintenance scripts) plus
# the system python3 running fleet_wiki/provision.py (standard library only). It installs the wiki into
# the mediawiki-data volume once, and on every start converges the bot account and its BotPassword on
# FLEET_WIKI_BOT_PASSWORD from .env. Built from the repository root (compose: context ".").
FROM mediawiki:1.43
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
COPY servers/wiki/src/fleet_wiki/provision.py /opt/fleet/wiki_provision.py
ENTRYPOINT ["python3", "/opt/fleet/wiki_provision.py"]
