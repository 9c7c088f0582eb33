export {
  startFakeThreatLocker,
  type FakeFault,
  type FakePagingMode,
  type FakeRequestLogEntry,
  type FakeThreatLocker,
  type FakeThreatLockerAdmin,
  type FakeThreatLockerOptions,
  type ThreatLockerOperation,
} from './server.js';
export { generateThreatLockerFleet, ZERO_GUID, type FakeComputer, type FakeOrganization, type ThreatLockerFleet } from './data.js';
