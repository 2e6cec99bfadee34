"""Duty points (履职积分) and the deputy's file (一人一档): the rules, the append-only ledger written from
events, the ranking, the file, and the notices on a deputy's desk when their suggestion is replied."""
