"""The password policy: long enough, letters and digits, not the user name."""

from __future__ import annotations

import re

from shared.errors import Invalid, field_error
from shared.i18n import Text


def check_password(password: str, username: str, min_length: int, field: str = "new_password") -> None:
    problems = []
    if len(password) < min_length:
        problems.append(Text(f"至少 {min_length} 个字符", f"at least {min_length} characters"))
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        problems.append(Text("需同时包含字母和数字", "must contain letters and digits"))
    if username and username.lower() in password.lower():
        problems.append(Text("不能包含用户名", "must not contain the user name"))
    if problems:
        message = Text("；".join(p.zh for p in problems), "; ".join(p.en for p in problems))
        raise Invalid(
            Text("密码不符合要求", "The password does not meet the policy"),
            code="weak_password",
            errors=[field_error(field, message, "weak_password")],
        )
