"""API v3 of the simulated WeChat Pay servers (JSON, RSA signatures, AES-256-GCM resources).

::

    api.py               handle(): the v3 route table, authentication, signed answers, fault answers
    errors.py            V3Error and PARAM_ERROR
    fields.py            the body reader and field checks
    orders.py            prepay (JSAPI, APP, H5, Native), query, close
    refunds.py           create and query refunds
    abnormal_refunds.py  send an ABNORMAL refund again
    bills.py             apply for and download trade / fund-flow bills
    resources.py         the Transaction and Refund objects notifications carry
    notifications.py     the encrypted notification bodies
"""
