"""The supervisors' dashboard (督办看板): sign-in sessions and their CSRF tokens, our own inline-SVG charts,
and the data of each panel, for the server-rendered page on supervision_api."""
