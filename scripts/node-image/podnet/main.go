// podnet: the pod network of the CAPDKC node image, run as a DaemonSet on every node.
//
// Every node gets a pod CIDR from kube-controller-manager (--allocate-node-cidrs). On its own
// node this program
//   - writes a CNI config: Debian's bridge plugin on cni0 with host-local addresses from that
//     CIDR, plus portmap for hostPort;
//   - routes every other node's pod CIDR via that node's InternalIP (all nodes share one Docker
//     network, so the next hop is directly reachable: no encapsulation);
//   - masquerades traffic from its pods to anything outside the pod CIDRs.
//
// It polls the Node list instead of watching: a handful of nodes, a few seconds of delay.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// routeProtocol marks the routes this program owns, so stale ones can be found and removed.
const routeProtocol = netlink.RouteProtocol(0x4b)

const chain = "CAPDKC-PODNET-MASQ"

type config struct {
	nodeName   string
	confPath   string
	bridge     string
	resync     time.Duration
	lastConf   []byte
	lastMasq   string
	jumpSource string
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	resync, err := time.ParseDuration(env("PODNET_RESYNC", "5s"))
	if err != nil {
		log.Fatalf("PODNET_RESYNC: %v", err)
	}
	c := &config{
		nodeName: os.Getenv("NODE_NAME"),
		confPath: filepath.Join(env("CNI_CONF_DIR", "/etc/cni/net.d"), "10-capdkc-podnet.conflist"),
		bridge:   env("PODNET_BRIDGE", "cni0"),
		resync:   resync,
	}
	if c.nodeName == "" {
		log.Fatal("NODE_NAME is not set (the manifest passes spec.nodeName)")
	}
	restConfig, err := rest.InClusterConfig()
	if err != nil {
		log.Fatalf("in-cluster config: %v", err)
	}
	// Talk to the API server directly, at the address kube-proxy uses (kubeadm's kube-proxy
	// ConfigMap, mounted by the manifest), not through the kubernetes Service: the Service
	// works only once kube-proxy runs, and until then a request to its address would follow
	// the node's default route out of the cluster.
	if server := serverOf(env("PODNET_KUBECONFIG", "/etc/podnet/kube-proxy/kubeconfig.conf")); server != "" {
		restConfig.Host = server
		log.Printf("API server %s (from kube-proxy's kubeconfig)", server)
	} else {
		waitForServiceRules(os.Getenv("KUBERNETES_SERVICE_HOST"))
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		log.Fatalf("client: %v", err)
	}
	log.Printf("podnet on node %s, CNI config %s", c.nodeName, c.confPath)
	for {
		if err := c.sync(client); err != nil {
			log.Printf("sync: %v", err)
		}
		time.Sleep(c.resync)
	}
}

// serverOf returns the server of the kubeconfig at path, or "" if there is none.
func serverOf(path string) string {
	config, err := clientcmd.LoadFromFile(path)
	if err != nil {
		if !os.IsNotExist(err) {
			log.Printf("kubeconfig %s: %v", path, err)
		}
		return ""
	}
	if context, ok := config.Contexts[config.CurrentContext]; ok {
		if cluster, ok := config.Clusters[context.Cluster]; ok {
			return cluster.Server
		}
	}
	for _, cluster := range config.Clusters {
		return cluster.Server
	}
	return ""
}

// waitForServiceRules waits until kube-proxy (iptables mode) has a rule for the API server's
// service address, so that no request to it leaves the node untranslated. It waits for as
// long as it takes: with another proxy, mount a kubeconfig at PODNET_KUBECONFIG instead.
func waitForServiceRules(host string) {
	if net.ParseIP(host) == nil {
		return
	}
	want := []byte("-d " + host + "/32")
	for start := time.Now(); ; time.Sleep(time.Second) {
		out, err := exec.Command("iptables-save", "-t", "nat").Output()
		if err == nil && bytes.Contains(out, want) {
			log.Printf("kube-proxy serves %s", host)
			return
		}
		if waited := time.Since(start).Round(time.Second); waited%(30*time.Second) == 0 && waited > 0 {
			log.Printf("waiting for kube-proxy's rule for %s (%s so far)", host, waited)
		}
	}
}

// ipv4CIDR returns the node's first IPv4 pod CIDR, or nil.
func ipv4CIDR(node *corev1.Node) *net.IPNet {
	cidrs := node.Spec.PodCIDRs
	if len(cidrs) == 0 && node.Spec.PodCIDR != "" {
		cidrs = []string{node.Spec.PodCIDR}
	}
	for _, s := range cidrs {
		if _, n, err := net.ParseCIDR(s); err == nil && n.IP.To4() != nil {
			return n
		}
	}
	return nil
}

// internalIPv4 returns the node's first IPv4 InternalIP, or nil.
func internalIPv4(node *corev1.Node) net.IP {
	for _, a := range node.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
			return ip
		}
	}
	return nil
}

func (c *config) sync(client kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	var own *net.IPNet
	var all []string
	routes := map[string]net.IP{}
	for i := range nodes.Items {
		node := &nodes.Items[i]
		cidr := ipv4CIDR(node)
		if cidr == nil {
			continue
		}
		all = append(all, cidr.String())
		if node.Name == c.nodeName {
			own = cidr
			continue
		}
		if ip := internalIPv4(node); ip != nil {
			routes[cidr.String()] = ip
		}
	}
	if own == nil {
		return fmt.Errorf("node %s has no IPv4 pod CIDR yet (is kube-controller-manager run with --allocate-node-cidrs?)", c.nodeName)
	}
	sort.Strings(all)
	if err := c.syncRoutes(routes); err != nil {
		return err
	}
	if err := c.syncMasquerade(own, all); err != nil {
		return err
	}
	return c.writeConf(own)
}

func (c *config) writeConf(own *net.IPNet) error {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "capdkc-podnet",
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      c.bridge,
				"isGateway":   true,
				"ipMasq":      false,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": [][]map[string]string{{{"subnet": own.String()}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{
				"type":         "portmap",
				"capabilities": map[string]bool{"portMappings": true},
			},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	if bytes.Equal(data, c.lastConf) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.confPath), 0o755); err != nil {
		return err
	}
	// Write then rename: the runtime must never read half a file.
	tmp := c.confPath + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.confPath); err != nil {
		return err
	}
	c.lastConf = data
	log.Printf("wrote %s for pod CIDR %s", c.confPath, own)
	return nil
}

func (c *config) syncRoutes(want map[string]net.IP) error {
	have, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for _, r := range have {
		if r.Dst == nil {
			continue
		}
		if gw, ok := want[r.Dst.String()]; ok && gw.Equal(r.Gw) {
			delete(want, r.Dst.String())
			continue
		}
		if err := netlink.RouteDel(&r); err != nil {
			return fmt.Errorf("delete route %s: %w", r.Dst, err)
		}
		log.Printf("removed route %s via %s", r.Dst, r.Gw)
	}
	for dst, gw := range want {
		_, n, _ := net.ParseCIDR(dst)
		route := &netlink.Route{Dst: n, Gw: gw, Protocol: routeProtocol}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("route %s via %s: %w", dst, gw, err)
		}
		log.Printf("route %s via %s", dst, gw)
	}
	return nil
}

func iptables(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w", "5"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// syncMasquerade: pods of this node reaching anything but a pod CIDR leave with the node's address.
func (c *config) syncMasquerade(own *net.IPNet, podCIDRs []string) error {
	var rules strings.Builder
	fmt.Fprintf(&rules, "*nat\n:%s - [0:0]\n", chain)
	for _, cidr := range podCIDRs {
		fmt.Fprintf(&rules, "-A %s -d %s -j RETURN\n", chain, cidr)
	}
	fmt.Fprintf(&rules, "-A %s -j MASQUERADE\nCOMMIT\n", chain)
	if rules.String() != c.lastMasq {
		// --noflush keeps every other chain; declaring ours empties it first.
		cmd := exec.Command("iptables-restore", "-w", "5", "--noflush")
		cmd.Stdin = strings.NewReader(rules.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("iptables-restore: %v: %s", err, out)
		}
		c.lastMasq = rules.String()
		log.Printf("masquerade rules: %d pod CIDRs exempt", len(podCIDRs))
	}
	if c.jumpSource != own.String() {
		jump := []string{"POSTROUTING", "-s", own.String(), "-j", chain}
		if iptables(append([]string{"-t", "nat", "-C"}, jump...)...) != nil {
			if err := iptables(append([]string{"-t", "nat", "-A"}, jump...)...); err != nil {
				return err
			}
		}
		c.jumpSource = own.String()
	}
	return nil
}
