// Reads a classic pcap file (as written by `tcpdump -w`) and returns the IPv6 packets in it, in capture order.
// Only what the namespace tests need: Ethernet (DLT_EN10MB) frames carrying IPv6, either byte order,
// micro- or nanosecond timestamps. A file still being written may end in a partial record: it is ignored.

const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERNET_HEADER = 14;

export interface CapturedFrame {
  index: number; // position in the file, counting every record
  ipv6: Buffer; // the IPv6 packet, from its fixed header on
}

export function readPcapIpv6(file: Buffer): CapturedFrame[] {
  if (file.length < 24) return []; // header not written yet
  const magic = file.readUInt32LE(0);
  let little: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = false;
  else throw new Error(`not a pcap file (magic 0x${magic.toString(16)})`);
  const u32 = (off: number) => (little ? file.readUInt32LE(off) : file.readUInt32BE(off));
  const linkType = u32(20) & 0x0fffffff;
  if (linkType !== LINKTYPE_ETHERNET) throw new Error(`pcap link type ${linkType} is not Ethernet`);

  const frames: CapturedFrame[] = [];
  let off = 24;
  for (let index = 0; off + 16 <= file.length; index++) {
    const capLen = u32(off + 8);
    const origLen = u32(off + 12);
    const start = off + 16;
    if (start + capLen > file.length) break; // partial record at the end of a live file
    off = start + capLen;
    if (capLen !== origLen) throw new Error(`pcap record ${index} truncated (${capLen} of ${origLen} bytes): capture with -s 0`);
    if (capLen < ETHERNET_HEADER || file.readUInt16BE(start + 12) !== ETHERTYPE_IPV6) continue;
    frames.push({ index, ipv6: Buffer.from(file.subarray(start + ETHERNET_HEADER, start + capLen)) });
  }
  return frames;
}
