// The Tc handle and the tc object types, gathered for the rest of the package.
export {
  type ClassSpec,
  decodeClass,
  decodeFilter,
  decodeQdisc,
  type Filter,
  type FilterSpec,
  type Qdisc,
  type QdiscSpec,
  type TcClass,
} from "./decode.js";
export { Tc, type TcOptions } from "./tc/handle.js";
