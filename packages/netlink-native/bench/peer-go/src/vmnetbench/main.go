// The Go peer for the netlink-native benchmark: the same workloads with vishvananda/netlink,
// timed inside the program (process start-up excluded). Built in GOPATH mode against Debian's
// golang-github-vishvananda-netlink-dev; see bench/run.mjs.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func addr(i int) *netlink.Addr {
	a, err := netlink.ParseAddr(fmt.Sprintf("10.%d.%d.1/24", i>>8, i&255))
	must(err)
	return a
}

func main() {
	n, _ := strconv.Atoi(os.Args[2])
	out := map[string]float64{}
	switch os.Args[1] {
	case "veth", "tap":
		links := make([]netlink.Link, n)
		t0 := time.Now()
		for i := 0; i < n; i++ {
			var l netlink.Link
			if os.Args[1] == "veth" {
				l = &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("v%d", i)}, PeerName: fmt.Sprintf("p%d", i)}
			} else {
				l = &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("t%d", i)}, Mode: netlink.TUNTAP_MODE_TAP, Flags: netlink.TUNTAP_DEFAULTS}
			}
			must(netlink.LinkAdd(l))
			got, err := netlink.LinkByName(l.Attrs().Name)
			must(err)
			links[i] = got
			must(netlink.AddrAdd(got, addr(i)))
			must(netlink.LinkSetUp(got))
		}
		out["create_s"] = time.Since(t0).Seconds()
		t1 := time.Now()
		for _, l := range links {
			must(netlink.LinkDel(l))
		}
		out["delete_s"] = time.Since(t1).Seconds()
	case "changes":
		// n changes over 100 existing links (made by the caller: c0..c99, up, with 10.200.x.1/16).
		links := make([]netlink.Link, 100)
		for i := range links {
			l, err := netlink.LinkByName(fmt.Sprintf("c%d", i))
			must(err)
			links[i] = l
		}
		q := n / 4
		t0 := time.Now()
		for i := 0; i < q; i++ {
			must(netlink.AddrAdd(links[i%100], addr(i)))
		}
		for i := 0; i < q; i++ {
			_, dst, _ := net.ParseCIDR(fmt.Sprintf("172.%d.%d.0/24", 16+(i>>8), i&255))
			must(netlink.RouteAdd(&netlink.Route{Dst: dst, LinkIndex: links[i%100].Attrs().Index}))
		}
		for i := 0; i < q; i++ {
			_, dst, _ := net.ParseCIDR(fmt.Sprintf("172.%d.%d.0/24", 16+(i>>8), i&255))
			must(netlink.RouteDel(&netlink.Route{Dst: dst, LinkIndex: links[i%100].Attrs().Index}))
		}
		for i := 0; i < q; i++ {
			must(netlink.AddrDel(links[i%100], addr(i)))
		}
		out["changes_s"] = time.Since(t0).Seconds()
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
