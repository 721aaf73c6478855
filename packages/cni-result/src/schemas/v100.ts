// The 1.0.0/1.1.0 result. 1.0.0 dropped the `version` field of `ips`; 1.1.0 added interface
// mtu/socketPath/pciID and route mtu/advmss/priority/table/scope. libcni reads both versions
// with one type, so a 1.0.0 document carrying 1.1.0 fields is accepted and keeps them.

import { z } from "zod";
import type { InterfaceV1, IpConfigV1, ResultV1 } from "../types.js";
import { V1_VERSIONS } from "../versions.js";
import {
  checkIpEntries,
  cidrSchema,
  dnsSchema,
  interfaceIndexSchema,
  interfaceNameSchema,
  ipAddressSchema,
  macSchema,
  mtuSchema,
  routeSchema,
} from "./common.js";

const interfaceV1Schema: z.ZodType<InterfaceV1> = z.object({
  name: interfaceNameSchema,
  mac: macSchema.optional(),
  mtu: mtuSchema.optional(),
  sandbox: z.string().optional(),
  socketPath: z.string().optional(),
  pciID: z.string().optional(),
});

const ipConfigV1Schema: z.ZodType<IpConfigV1> = z.object({
  address: cidrSchema,
  gateway: ipAddressSchema.optional(),
  interface: interfaceIndexSchema.optional(),
});

export const resultV1Schema: z.ZodType<ResultV1> = z
  .object({
    cniVersion: z.enum(V1_VERSIONS),
    interfaces: z.array(interfaceV1Schema).optional(),
    ips: z.array(ipConfigV1Schema).optional(),
    routes: z.array(routeSchema).optional(),
    dns: dnsSchema.optional(),
  })
  .superRefine(checkIpEntries);
