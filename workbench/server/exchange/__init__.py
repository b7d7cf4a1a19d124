"""The exchange: catalog, accounts, terms, plans, subscriptions, credentials, usage, bills,
revenue share, audit, portal and CKAN API.

Modules (one concept each):

- :mod:`.service` — :class:`~.service.ExchangeService`, the HTTP-free business layer
  (``ExchangeService.open(data_dir)``; the seeder, CLI, API and portal all use it)
- :mod:`.db` — tables (SQLAlchemy Core); :mod:`.security` — argon2 and keyed hashes;
  :mod:`.metering` — exact rate limits, quotas and batched usage; :mod:`.billing` — yen and
  shares; :mod:`.quality` — quality figures from entities
- :mod:`.app` — :func:`~.app.create_exchange_app` wiring :mod:`.api` (``/api``),
  :mod:`.oauth` (``/oauth2``), :mod:`.ckan` (``/api/3/action``), :mod:`.dcat`,
  :mod:`.portal` (HTML) and the gateway (:mod:`workbench.server.gateway`, ``/v2``, ``/ql``)
- :mod:`.cli` — ``workbench serve``, ``workbench users``, ``workbench products``
"""
