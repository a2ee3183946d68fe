"""Plain words for the sync problems a guard may see, zh-CN first, English available.

The sync process stores the code of its last problem with both texts in ``sync_state``
(:mod:`sync.state`); the guard screen shows the zh-CN text. Technical details go to the log
and to ``last_error_detail``, never into these texts.
"""

from __future__ import annotations

# code -> (zh-CN, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "offline": ("网络不通，记录已保存在本机，恢复后自动上传",
                "No network: entries are saved on this device and upload by themselves when it is back"),
    "server_error": ("中心服务器暂时故障，记录已保存在本机，稍后自动上传",
                     "The central server has a problem: entries are saved here and upload by themselves later"),
    "token_rejected": ("中心不认可本机凭证（已停用或填错），记录保存在本机，请联系管理员",
                       "Central does not accept this device's token (revoked or wrong): entries are kept here; "
                       "call the administrator"),
    "upload_refused": ("中心拒收上传的记录，记录保存在本机，请联系管理员",
                       "Central refused the upload: entries are kept here; call the administrator"),
    "seq_conflict": ("中心的另一台设备已有相同的记录（本机记录是复制来的？），本机记录已保留，请联系管理员",
                     "Another device at central holds the same entries (was this device's log copied?): "
                     "entries are kept here; call the administrator"),
    "lists_refused": ("名单更新未通过校验（签名不符或版本过旧），继续使用现有名单，请联系管理员",
                      "A list update failed its check (bad signature or an old version): the current lists "
                      "stay in use; call the administrator"),
    "lists_offline": ("暂时无法更新名单，继续使用现有名单，稍后自动重试",
                      "Lists cannot be updated now: the current lists stay in use; retried by itself"),
    "db_unavailable": ("本机数据库正在检查或重建，稍后自动继续上传",
                       "The local database is being checked or rebuilt: uploads resume by themselves"),
    "internal": ("上传程序出错，记录保存在本机，会自动重试；如一直出现请联系管理员",
                 "The sync program hit an error: entries are kept here and it retries by itself; "
                 "call the administrator if this stays"),
}

LANGS = ("zh", "en")


def text(code: str, lang: str = "zh") -> str:
    """The plain-words text of ``code`` in ``lang`` ("zh" or "en"); the "internal" text for unknown codes."""
    zh, en = MESSAGES.get(code, MESSAGES["internal"])
    return en if lang == "en" else zh
