// Command kind_render prints the kubeadm configuration kind would write for the lab's
// kind-config.yaml, without a container engine. Test-only: tests/unit/test_backends_kind.py copies
// it into a copy of the pinned kind module (internal packages are importable only from inside
// sigs.k8s.io/kind) and runs it.
//
// It runs kind's own steps in kind's order: load (strict decode, defaults), Validate, render the
// kubeadm config for the node image's Kubernetes version, apply the cluster's and the node's
// kubeadmConfigPatches. Only the values kind learns from a running node (its IP, its name, the
// load balancer endpoint) are filled in here.
package main

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/internal/kubeadm"
	"sigs.k8s.io/kind/pkg/internal/apis/config/encoding"
	"sigs.k8s.io/kind/pkg/internal/patch"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	cfg, err := encoding.Load(path)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	node := cfg.Nodes[0]
	image := strings.SplitN(node.Image, "@", 2)[0]
	version := image[strings.LastIndex(image, ":")+1:]
	rendered, err := kubeadm.Config(kubeadm.ConfigData{
		ClusterName:          cfg.Name,
		KubernetesVersion:    version,
		ControlPlaneEndpoint: cfg.Name + "-control-plane:6443",
		APIBindPort:          6443,
		APIServerAddress:     cfg.Networking.APIServerAddress,
		NodeProvider:         "docker",
		ControlPlane:         true,
		NodeAddress:          "172.18.0.2",
		NodeName:             cfg.Name + "-control-plane",
		Token:                kubeadm.Token,
		KubeProxyMode:        string(cfg.Networking.KubeProxyMode),
		PodSubnet:            cfg.Networking.PodSubnet,
		ServiceSubnet:        cfg.Networking.ServiceSubnet,
		FeatureGates:         cfg.FeatureGates,
		RuntimeConfig:        cfg.RuntimeConfig,
		IPFamily:             cfg.Networking.IPFamily,
	})
	if err != nil {
		return err
	}
	patched, err := patch.KubeYAML(rendered, cfg.KubeadmConfigPatches, cfg.KubeadmConfigPatchesJSON6902)
	if err != nil {
		return err
	}
	patched, err = patch.KubeYAML(patched, node.KubeadmConfigPatches, node.KubeadmConfigPatchesJSON6902)
	if err != nil {
		return err
	}
	fmt.Print(patched)
	return nil
}
