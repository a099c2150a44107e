"""The web pages the gateway serves: server-rendered, zh-CN by default, English by a switch.

Foundation (reused by the staff pages): :mod:`.i18n` (the message catalogues
and the language choice), :mod:`.templating` (Jinja2 with autoescape and
gettext), :mod:`.signing` and :mod:`.csrf`. The public pages are in
:mod:`.public`.
"""
