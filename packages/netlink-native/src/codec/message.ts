import { parseAttrs } from "./attrs.js";
import { NLM_F_ACK_TLVS, NLMSG_ERROR, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS } from "./constants.js";
import { NetlinkDecodeError } from "./decode-error.js";
import { align4 } from "./writer.js";

export const NLMSG_HDRLEN = 16;

export interface MessageHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export interface Message extends MessageHeader {
  /** Everything after the 16-byte header. */
  body: Buffer;
}

/** Encodes one message: nlmsghdr followed by the body (already 4-byte aligned by AttrWriter). */
export function encodeMessage(header: MessageHeader, body: Uint8Array): Buffer {
  const out = Buffer.alloc(NLMSG_HDRLEN + align4(body.length));
  out.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  out.writeUInt16LE(header.type, 4);
  out.writeUInt16LE(header.flags, 6);
  out.writeUInt32LE(header.seq >>> 0, 8);
  out.writeUInt32LE(header.pid >>> 0, 12);
  out.set(body, NLMSG_HDRLEN);
  return out;
}

/** Splits a datagram into messages. Throws only NetlinkDecodeError. */
export function parseMessages(buf: Buffer): Message[] {
  const out: Message[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN)
      throw new NetlinkDecodeError(`message length ${len} is below the header size`, off);
    if (off + len > buf.length) {
      throw new NetlinkDecodeError(`message of ${len} bytes overruns the ${buf.length - off} left`, off);
    }
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      body: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  if (off < buf.length && buf.length - off >= 1 && out.length === 0) {
    throw new NetlinkDecodeError(`${buf.length - off} bytes are too few for a message header`, off);
  }
  return out;
}

/** The kernel's answer to a request: 0 for an ACK, a negative errno otherwise, with ext-ack. */
export interface ErrorMessage {
  error: number;
  /** The header of the request it answers. */
  request: MessageHeader;
  /** Extended ack: the kernel's explanation (NLMSGERR_ATTR_MSG). */
  extackMessage?: string;
  /** Extended ack: byte offset in the request of the attribute it rejected. */
  extackOffset?: number;
}

export function parseErrorMessage(m: Message): ErrorMessage {
  if (m.type !== NLMSG_ERROR) throw new NetlinkDecodeError(`message type ${m.type} is not NLMSG_ERROR`, 0);
  if (m.body.length < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError("NLMSG_ERROR body too short", 16);
  const error = m.body.readInt32LE(0);
  const reqLen = m.body.readUInt32LE(4);
  const request: MessageHeader = {
    type: m.body.readUInt16LE(8),
    flags: m.body.readUInt16LE(10),
    seq: m.body.readUInt32LE(12),
    pid: m.body.readUInt32LE(16),
  };
  const out: ErrorMessage = { error, request };
  if (m.flags & NLM_F_ACK_TLVS) {
    // With NETLINK_CAP_ACK only the request header is echoed; without it, the whole request.
    const capped = (m.flags & 0x100) !== 0; // NLM_F_CAPPED
    const echoed = capped ? NLMSG_HDRLEN : Math.max(NLMSG_HDRLEN, reqLen);
    const tlvStart = 4 + align4(echoed);
    if (tlvStart <= m.body.length) {
      for (const a of parseAttrs(m.body.subarray(tlvStart), tlvStart)) {
        if (a.type === NLMSGERR_ATTR_MSG) out.extackMessage = a.data.toString("utf8").replace(/\0.*$/s, "");
        if (a.type === NLMSGERR_ATTR_OFFS && a.data.length >= 4) out.extackOffset = a.data.readUInt32LE(0);
      }
    }
  }
  return out;
}
