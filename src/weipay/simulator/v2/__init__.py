"""API v2 of the simulated WeChat Pay servers (XML, MD5 / HMAC-SHA256 signatures).

::

    api.py            handle(): the v2 route table, the envelope, the fault answers
    wire.py           parse and verify a request; the FAIL / SUCCESS envelopes
    validate.py       field rules of unifiedorder and refund
    orders.py         /pay/unifiedorder, /pay/orderquery, /pay/closeorder
    refunds.py        /secapi/pay/refund, /pay/refundquery
    bills.py          /pay/downloadbill
    notifications.py  the payment and refund notifications WeChat POSTs to merchants
"""
