# %% [markdown]
# # 00 · Setup: a real Kubernetes cluster for this lab
#
# **Goal:** start (or connect to) the lab's own cluster and see what it is made of. Everything the
# next notebooks show comes from this cluster's API server: nothing is simulated. On the default
# *embedded* backend, the real Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager) runs as local processes on 127.0.0.1.
#
# Run the cells from top to bottom (Shift+Enter). A cell that ends in `assert` checks what you just saw.

# %%
import os

import labsetup
from labsetup import show
from labsetup.kubectl import kubectl

lab = labsetup.connect()
show.lab_summary(lab)

# %% [markdown]
# The lab talks to its cluster only through **its own kubeconfig**, never your `~/.kube/config`.
# `connect()` pointed this kernel's `KUBECONFIG` at it, so `kubectl` in this notebook (and `!kubectl`
# cells) hits the lab.

# %%
assert lab.version() == labsetup.KUBERNETES_VERSION
assert os.environ["KUBECONFIG"] == str(lab.kubeconfig)
print(kubectl(lab, "version"))

# %% [markdown]
# ## What runs, and what it can show
#
# The control plane runs as processes on this machine. Whether pods actually *run* depends on whether
# the cluster has a node (a kubelet). Without one, pods are still admitted, so you see exactly the spec
# the API server would hand a kubelet, including the service-account token volume; tokens are then
# minted with the same TokenRequest API the kubelet uses. Lessons ask the lab what it can show rather
# than assuming.

# %%
show.processes(lab)

# %%
nodes = lab.core.list_node().items
print(f"nodes: {[n.metadata.name for n in nodes] or 'none'}; pods run: {lab.capabilities.pods_run}")
assert (len(nodes) > 0) == lab.capabilities.pods_run

# %% [markdown]
# ## A fresh namespace gets a `default` ServiceAccount
#
# The controller manager's *serviceaccount* controller creates a ServiceAccount named `default` in every
# new namespace, and the *root-ca publisher* adds the `kube-root-ca.crt` ConfigMap. Every later lesson
# starts from a namespace like this one.

# %%
ns = lab.namespace("lesson-00")
accounts = [sa.metadata.name for sa in lab.core.list_namespaced_service_account(ns).items]
configmaps = [cm.metadata.name for cm in lab.core.list_namespaced_config_map(ns).items]
print(f"namespace {ns}: ServiceAccounts {accounts}, ConfigMaps {configmaps}")
assert accounts == ["default"]
assert "kube-root-ca.crt" in configmaps

# %% [markdown]
# ## Check yourself

# %%
# NBVAL_IGNORE_OUTPUT
from labsetup.quiz import show_quiz

show_quiz("00-setup")
