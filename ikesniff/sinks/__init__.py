"""Where a run's items go: each sink takes the items of a run one by one (messages, diagnoses, findings,
verdicts, the summary, frame problems) and sends them somewhere (a metrics endpoint, syslog...).

A sink knows nothing of captures or the command line; the protocol is in base.py.
"""
