"""The SMS providers' request signatures against their published worked examples,
byte for byte, and how their answers map to sent / retry / give up."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tousu.services.followup.notices import (
    LoggingSmsSender,
    NoticeChannel,
    NoticeKind,
    Notification,
    SendError,
    build_senders,
)
from tousu.services.followup.notices.sms_gateway import HttpSmsSender, phone_number
from tousu.services.followup.notices.sms_providers import AliyunSms, SmsMessage, TencentSms
from tousu.services.followup.notices.sms_signing import (
    acs3_authorization,
    acs3_canonical_query,
    sha256_hex,
    tc3_authorization,
    tc3_canonical_request,
)
from tousu.shared.settings import Settings, SmsSection, parse_sms_template

# -- Tencent Cloud: "Signature v3" (API 3.0), its worked example ---------------
# https://www.tencentcloud.com/document/api/382/40467 (the SMS product's copy):
# POST https://cvm.tencentcloudapi.com/ DescribeInstances at 1551113065, the
# SecretKey of its step 3, the body of its curl line (the \u escapes as sent).
TC_PAYLOAD = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)
TC_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Host": "cvm.tencentcloudapi.com"}
TC_SECRET_ID = "AKID**********************0123456789EXAMPLE"
TC_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"


def test_tc3_canonical_request_is_the_documented_one() -> None:
    assert sha256_hex(TC_PAYLOAD) == (
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    canonical = tc3_canonical_request(TC_HEADERS, TC_PAYLOAD)
    assert canonical == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
        "host:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert sha256_hex(canonical.encode()) == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )


def test_tc3_authorization_is_the_documented_one_byte_for_byte() -> None:
    authorization = tc3_authorization(
        secret_id=TC_SECRET_ID,
        secret_key=TC_SECRET_KEY,
        service="cvm",
        headers=TC_HEADERS,
        payload=TC_PAYLOAD,
        timestamp=1551113065,
    )
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/"
        "2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_tc3_scopes_the_key_by_the_utc_date_not_beijing() -> None:
    # 1551113065 is 2019-02-26 00:44:25 in Beijing and still the 25th in UTC
    # (the documentation's own warning): the 26th signs differently.
    at_25 = tc3_authorization(
        secret_id="id", secret_key="k", service="sms", headers=TC_HEADERS, payload=b"{}",
        timestamp=1551113065,
    )  # fmt: skip
    assert "/2019-02-25/sms/tc3_request" in at_25


# -- Alibaba Cloud: "V3 request structure and signature", its worked example ---
# https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature:
# ECS RunInstances, POST with the parameters in the query, an empty body.
ACS_HEADERS = {
    "host": "ecs.cn-shanghai.aliyuncs.com",
    "x-acs-action": "RunInstances",
    "x-acs-version": "2014-05-26",
    "x-acs-date": "2023-10-26T10:22:32Z",
    "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
    "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}
ACS_QUERY = {
    "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
    "RegionId": "cn-shanghai",
}


def test_acs3_authorization_is_the_documented_one_byte_for_byte() -> None:
    assert acs3_authorization(
        access_key_id="YourAccessKeyId",
        access_key_secret="YourAccessKeySecret",
        method="POST",
        query=ACS_QUERY,
        headers=ACS_HEADERS,
    ) == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


def test_acs3_query_is_rfc3986_encoded_and_sorted() -> None:
    assert acs3_canonical_query({"b": "a b*c~", "a": '{"x":"受理"}'}) == (
        "a=%7B%22x%22%3A%22%E5%8F%97%E7%90%86%22%7D&b=a%20b%2Ac~"
    )


# -- the requests and the answers of SendSms -----------------------------------

MESSAGE = SmsMessage(
    phone="+8613800138000",
    template_id="1234567",
    values=[("no", "TS-2611-000000123"), ("date", "2026年12月7日")],
    sign_name="某市政务服务中心",
    reference="5f0e6a9c-3b1d-4d0a-9a53-6f1f2c7e8b41",
)


def test_tencent_sendsms_request_carries_the_template_and_the_notice_id() -> None:
    provider = TencentSms("AKIDtest", "secret", "1400006666", "ap-guangzhou")
    request = provider.request("http://127.0.0.1:9/", MESSAGE, 1551113065.7)
    body = json.loads(request.content)
    assert body == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": "1400006666",
        "SignName": "某市政务服务中心",
        "TemplateId": "1234567",
        "TemplateParamSet": ["TS-2611-000000123", "2026年12月7日"],
        "SessionContext": MESSAGE.reference,
    }
    assert request.headers["X-TC-Action"] == "SendSms"
    assert request.headers["X-TC-Version"] == "2021-01-11"
    assert request.headers["X-TC-Timestamp"] == "1551113065"
    assert request.headers["Host"] == "127.0.0.1:9"
    assert request.headers["Authorization"].startswith(
        "TC3-HMAC-SHA256 Credential=AKIDtest/2019-02-25/sms/tc3_request, "
        "SignedHeaders=content-type;host;x-tc-action, Signature="
    )


def test_aliyun_sendsms_request_carries_the_named_parameters_as_json() -> None:
    provider = AliyunSms("LTAItest", "secret", nonce=lambda: "n1")
    request = provider.request("https://dysmsapi.aliyuncs.com/", MESSAGE, 1698315752)
    query = provider.query(MESSAGE)
    assert json.loads(query["TemplateParam"]) == {
        "no": "TS-2611-000000123",
        "date": "2026年12月7日",
    }
    assert (query["TemplateCode"], query["OutId"]) == ("1234567", MESSAGE.reference)
    assert request.url == f"https://dysmsapi.aliyuncs.com/?{acs3_canonical_query(query)}"
    assert request.headers["x-acs-date"] == "2023-10-26T10:22:32Z"
    assert request.headers["Authorization"] == acs3_authorization(
        access_key_id="LTAItest",
        access_key_secret="secret",
        method="POST",
        query=query,
        headers={k: v for k, v in request.headers.items() if k != "Authorization"},
    )


def tencent_answer(**response: object) -> bytes:
    return json.dumps({"Response": {"RequestId": "r-1", **response}}).encode()


def tencent_status(code: str, message: str = "") -> bytes:
    return tencent_answer(
        SendStatusSet=[{"SerialNo": "2640:123456", "Code": code, "Message": message}]
    )


def tencent_error(code: str) -> bytes:
    return tencent_answer(Error={"Code": code, "Message": "no"})


def outcome(provider: TencentSms | AliyunSms, status: int, body: bytes) -> bool | str:
    """The message id, or whether the error is retried."""
    try:
        return provider.outcome(status, body)
    except SendError as exc:
        return exc.retryable


def test_tencent_answers_map_to_sent_retry_or_give_up() -> None:
    p = TencentSms("id", "key", "1400006666", "ap-guangzhou")
    assert outcome(p, 200, tencent_status("Ok", "send success")) == "2640:123456"
    assert outcome(p, 200, tencent_error("RequestLimitExceeded")) is True
    assert outcome(p, 200, tencent_error("InternalError.Timeout")) is True
    assert outcome(p, 200, tencent_error("AuthFailure.SignatureFailure")) is True
    assert outcome(p, 200, tencent_status("LimitExceeded.DeliveryFrequencyLimit")) is True
    assert outcome(p, 200, tencent_status("InvalidParameterValue.IncorrectPhoneNumber")) is False
    assert outcome(p, 200, tencent_status("FailedOperation.PhoneNumberInBlacklist")) is False
    assert outcome(p, 200, tencent_error("FailedOperation.TemplateIncorrectOrUnapproved")) is False
    assert outcome(p, 502, b"<html>Bad Gateway</html>") is True
    assert outcome(p, 404, b"not found") is False


def test_aliyun_answers_map_to_sent_retry_or_give_up() -> None:
    p = AliyunSms("id", "key")

    def answer(code: str) -> bytes:
        return json.dumps(
            {"Code": code, "Message": "m", "BizId": "9006^0", "RequestId": "r"}
        ).encode()

    assert outcome(p, 200, answer("OK")) == "9006^0"
    assert outcome(p, 200, answer("isv.BUSINESS_LIMIT_CONTROL")) is True
    assert outcome(p, 400, answer("Throttling.User")) is True
    assert outcome(p, 500, answer("isp.SYSTEM_ERROR")) is True
    assert outcome(p, 200, answer("isv.MOBILE_NUMBER_ILLEGAL")) is False
    assert outcome(p, 200, answer("isv.TEMPLATE_MISSING_PARAMETERS")) is False
    assert outcome(p, 503, b"") is True


# -- the templates -------------------------------------------------------------


def test_a_template_setting_names_its_id_and_parameters() -> None:
    t = parse_sms_template("SMS_15305", ("tracking_no", "date", "link"))
    assert (t.template_id, t.params) == (
        "SMS_15305",
        (("tracking_no", "tracking_no"), ("date", "date"), ("link", "link")),
    )
    t = parse_sms_template(" 1234567 : no=tracking_no, access_code ", ())
    assert (t.template_id, t.params) == ("1234567", (("no", "tracking_no"), ("access_code",) * 2))
    with pytest.raises(ValueError, match="unknown parameter 'phone'"):
        parse_sms_template("1234567:phone", ())
    with pytest.raises(ValueError, match="TOUSU_SMS_APP_ID"):
        SmsSection(provider="tencent", secret_id="id", secret_key="k")


def sms_notice(kind: NoticeKind = NoticeKind.ACCEPTANCE, **fields: object) -> Notification:
    values: dict[str, object] = {
        "source_event_id": uuid.uuid4(),
        "complaint_id": uuid.uuid4(),
        "tracking_no": "TS-2611-000000123",
        "kind": kind,
        "channel": NoticeChannel.SMS,
        "recipient": "138 0013 8000",
        "recipient_name": "张三",
        "title": "投诉受理告知书",
        "body": "您好：…",
        **fields,
    }
    return Notification(**values)  # type: ignore[arg-type]


def test_the_sender_fills_the_kinds_template_and_refuses_what_it_cannot_send() -> None:
    settings = SmsSection(
        provider="tencent",
        secret_id="id",
        secret_key="key",
        app_id="1400006666",
        sign_name="某市12345",
        template_acceptance="1001:tracking_no,link",
        template_access_code="1002",
    )
    sender = HttpSmsSender(settings, lookup_url="https://t.example.cn/q")
    message = sender.message(sms_notice())
    assert (message.phone, message.template_id, message.sign_name) == (
        "13800138000",
        "1001",
        "某市12345",
    )
    assert list(message.values) == [
        ("tracking_no", "TS-2611-000000123"),
        ("link", "https://t.example.cn/q"),
    ]
    code = sender.message(sms_notice(NoticeKind.ACCESS_CODE, access_code="K7Q2M9"))
    assert [v for _, v in code.values] == ["TS-2611-000000123", "K7Q2M9", "https://t.example.cn/q"]
    for bad in (sms_notice(NoticeKind.RESULT), sms_notice(recipient="call me")):
        with pytest.raises(SendError) as refused:
            sender.message(bad)
        assert refused.value.retryable is False
    with pytest.raises(ValueError, match="TOUSU_LOOKUP_URL"):
        HttpSmsSender(settings, lookup_url=None)
    assert phone_number("+86 138-0013-8000") == "+8613800138000"


def test_the_deployment_sends_sms_through_the_configured_provider(tmp_path: Path) -> None:
    logged = build_senders(Settings(data_dir=tmp_path))[NoticeChannel.SMS]
    assert isinstance(logged, LoggingSmsSender)  # the default: the log, no gateway
    sms = SmsSection(
        provider="aliyun", secret_id="id", secret_key="k", template_result="SMS_1:tracking_no"
    )
    sender = build_senders(Settings(data_dir=tmp_path, sms=sms))[NoticeChannel.SMS]
    assert isinstance(sender, HttpSmsSender)
    assert (sender.provider.name, sender.endpoint) == ("aliyun", "https://dysmsapi.aliyuncs.com/")
