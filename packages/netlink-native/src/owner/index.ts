export {
  formatOwnerMark,
  isMarkOwnerAlive,
  isMarkToken,
  type OwnerMark,
  ownerMarkForThisProcess,
  parseOwnerMark,
  processStartTicks,
} from "./mark.js";
