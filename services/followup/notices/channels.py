"""Which channel a complainant is told through, from the channel they used or chose."""

from __future__ import annotations

from tousu.services.followup.notices.model import NoticeChannel
from tousu.shared.events.types import Channel

# After the primary channel, what else reaches the complainant, fastest first.
_FALLBACK_ORDER = (NoticeChannel.SMS, NoticeChannel.EMAIL, NoticeChannel.LETTER)


def channel_for(
    preferred_channel: Channel | str | None,
    has_email: bool,
    has_phone: bool,
    has_address: bool,
    *,
    has_wechat: bool = False,
) -> list[NoticeChannel]:
    """Usable notice channels: the primary first, then fallbacks; WEB is always one.

    Send on the first; the others are for when it cannot be used (a notice
    that went dead). WEB is always possible (last, unless it is the primary):
    the complainant can look the notice up with their tracking number.

    The policy's rule (notices through the complainant's chosen channel):
    phone → SMS; WeChat → a WeChat template message when the complaint came
    with the sender's OpenID (``has_wechat``); web, WeChat and Open311 →
    e-mail when an address was given, else the web page; letter → letter;
    walk-in → SMS when a phone number was given, else letter. No preference:
    SMS, e-mail, letter, whichever exists.
    """
    usable = {
        NoticeChannel.EMAIL: has_email,
        NoticeChannel.SMS: has_phone,
        NoticeChannel.LETTER: has_address,
        NoticeChannel.WECHAT: has_wechat,
        NoticeChannel.WEB: True,
    }
    primary = _primary(Channel(preferred_channel) if preferred_channel else None, usable)
    chosen = [primary] if primary is not None else []
    chosen += [c for c in (*_FALLBACK_ORDER, NoticeChannel.WEB) if usable[c]]
    return list(dict.fromkeys(chosen))


def _primary(preferred: Channel | None, usable: dict[NoticeChannel, bool]) -> NoticeChannel | None:
    match preferred:
        case Channel.PHONE:
            wanted = [NoticeChannel.SMS]
        case Channel.WECHAT if usable[NoticeChannel.WECHAT]:
            # Told where they wrote to us, as they read it: in the chat.
            return NoticeChannel.WECHAT
        case Channel.WEB | Channel.WECHAT | Channel.OPEN311:
            # Without an e-mail address the web page is what they chose.
            return NoticeChannel.EMAIL if usable[NoticeChannel.EMAIL] else NoticeChannel.WEB
        case Channel.LETTER:
            wanted = [NoticeChannel.LETTER]
        case Channel.WALK_IN:
            wanted = [NoticeChannel.SMS, NoticeChannel.LETTER]
        case None:
            wanted = list(_FALLBACK_ORDER)
    return next((c for c in wanted if usable[c]), None)
