import { z } from "zod";
import * as C from "../../codec/constants.js";
import { ifName, mac, mtu, netnsRef } from "../../validate.js";
import { type LinkAttrs, writeIfInfo, writeLinkAttrs } from "../link-attrs.js";
import { defineKind } from "./kind.js";

/** A veth pair: the peer end is described inside IFLA_INFO_DATA as a nested ifinfomsg. */
export const vethKind = defineKind({
  kind: "veth",
  schema: {
    peer: z
      .object({ name: ifName, netns: netnsRef.optional(), mac: mac.optional(), mtu: mtu.optional() })
      .strict(),
  },
  async resolve(s, ctx) {
    const peer: LinkAttrs = { name: s.peer.name };
    if (s.peer.mtu !== undefined) peer.mtu = s.peer.mtu;
    if (s.peer.mac !== undefined) peer.mac = s.peer.mac;
    if (s.peer.netns !== undefined) peer.netnsFd = ctx.netnsFd(s.peer.netns);
    return { data: { peer } };
  },
  encode(w, d: { peer: LinkAttrs }) {
    w.nested(C.VETH_INFO_PEER, () => {
      writeIfInfo(w, {});
      writeLinkAttrs(w, d.peer);
    });
  },
  // The kernel reports no IFLA_INFO_DATA for veth: the peer is the link's IFLA_LINK.
  decode: () => ({}),
});
