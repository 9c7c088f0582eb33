/**
 * Tolerant schemas of what ThreatLocker's Portal API sends (vendor-apis.md §1.3–1.5).
 *
 * Unknown keys pass through (the raw row is stored as-is); every descriptive field may be null
 * on the live API, so nothing here is required except being an object. What a row *must* have
 * (computerId, hostname) is decided by the normalizer, which reports it as a typed error.
 */
import { z } from 'zod';
import { looseFlag, looseNumber, looseText } from '../values.js';

const str = looseText;
const num = looseNumber;
const bool = looseFlag;

export const threatLockerComputerSchema = z.looseObject({
  computerId: str,
  computerName: str,
  hostname: str,
  name: str,
  group: str,
  computerGroupId: str,
  organizationId: str,
  organization: str,
  /** Not a live key; read only as a fallback for older captures. */
  organizationName: str,
  osType: num,
  operatingSystem: str,
  action: str,
  mode: str,
  lastCheckin: str,
  dateAdded: str,
  installDate: str,
  lastCheckinIPAddress: str,
  username: str,
  threatLockerVersion: str,
  denyCountOneDay: num,
  denyCountThreeDays: num,
  denyCountSevenDays: num,
  isLockedOut: bool,
  isIsolated: bool,
  isDeleted: bool,
  hasAtLeastOneCheckin: bool,
  totalRows: num,
});
export type ThreatLockerComputer = z.infer<typeof threatLockerComputerSchema>;

/** `ComputerGetByAllParameters` answers a bare array, or (on some tenants) an empty body / `null`. */
export const threatLockerComputerListSchema = z.array(threatLockerComputerSchema).nullable();

/** The edit DTO from `ComputerGetForEditById`; sent back whole, with a new `name`, to rename. */
export const threatLockerComputerEditSchema = z.looseObject({
  computerId: z.string(),
  name: z.string().nullish(),
});
export type ThreatLockerComputerEdit = z.infer<typeof threatLockerComputerEditSchema>;
