"""Duplicates (重复件) at the dispatcher's desk: each case's words indexed for search, the similar cases a
dispatcher is shown, and merging a case into its main case (并案) or undoing that within a day. Nothing here
merges on its own: a person decides."""
