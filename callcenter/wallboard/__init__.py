"""The supervisors' wallboard: the agents' board and the alert rules (pure), fed by the
tracker's changes through the fan-out; served live by ``callcenter.web.wallboard``."""
