// The 0.3.0/0.3.1/0.4.0 result: interfaces, a list of IPs that name their IP version and point
// at an interface, routes and DNS.

import { z } from "zod";
import type { Interface040, IpConfig040, Result040 } from "../types.js";
import { V04X_VERSIONS } from "../versions.js";
import {
  checkIpEntries,
  cidrSchema,
  dnsSchema,
  interfaceIndexSchema,
  interfaceNameSchema,
  ipAddressSchema,
  macSchema,
  routeSchema,
} from "./common.js";

const interface040Schema: z.ZodType<Interface040> = z.object({
  name: interfaceNameSchema,
  mac: macSchema.optional(),
  sandbox: z.string().optional(),
});

const ipConfig040Schema: z.ZodType<IpConfig040> = z.object({
  version: z.enum(["4", "6"]),
  address: cidrSchema,
  gateway: ipAddressSchema.optional(),
  interface: interfaceIndexSchema.optional(),
});

export const result040Schema: z.ZodType<Result040> = z
  .object({
    cniVersion: z.enum(V04X_VERSIONS),
    interfaces: z.array(interface040Schema).optional(),
    ips: z.array(ipConfig040Schema).optional(),
    routes: z.array(routeSchema).optional(),
    dns: dnsSchema.optional(),
  })
  .superRefine(checkIpEntries);
