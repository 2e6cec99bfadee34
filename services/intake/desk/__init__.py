"""The deputy's desk (代表工作台): the cases a deputy follows (those through their codes, their suggestions and
the ones they co-signed), suggestions (代表建议, joint or not), adopting a citizen's case as a suggestion, and
the notices of replies. Every query is scoped to one deputy of one jurisdiction."""
