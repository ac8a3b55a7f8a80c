"""The RBAC tables (rbac.authorization.k8s.io): bindings show their role and, wide, their subjects.

Roles and ClusterRoles use the default table (Name, Created At), as upstream's printers do.
"""

from __future__ import annotations

from datetime import datetime

from tinykube.registry.printers._common import Cells, ColumnSpec, Obj, age, age_col, as_list, dig, name_col, \
    name_of, wide

BINDING_COLUMNS = (
    name_col(), ColumnSpec("Role", doc="rbac.v1.RoleBinding.roleRef"), age_col(),
    wide("Users", text="Users in the roleBinding"), wide("Groups", text="Groups in the roleBinding"),
    wide("ServiceAccounts", text="ServiceAccounts in the roleBinding"),
)


def binding_cells(binding: Obj, now: datetime) -> Cells:
    users, groups, accounts = [], [], []
    for subject in as_list(binding.get("subjects")):
        kind, name = dig(subject, "kind", default=""), str(dig(subject, "name", default=""))
        if kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
        elif kind == "ServiceAccount":
            accounts.append(f'{dig(subject, "namespace", default="")}/{name}')
    ref = f'{dig(binding, "roleRef", "kind", default="")}/{dig(binding, "roleRef", "name", default="")}'
    return [name_of(binding), ref, age(binding, now), ", ".join(users), ", ".join(groups), ", ".join(accounts)]


PRINTERS = {("rbac.authorization.k8s.io", "rolebindings"): (BINDING_COLUMNS, binding_cells),
            ("rbac.authorization.k8s.io", "clusterrolebindings"): (BINDING_COLUMNS, binding_cells)}
