"""ResourceQuota: what objects use (`usage.py`, pure), admission that charges it (`admission.py`)."""
