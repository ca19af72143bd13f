/**
 * Tar streams and the trees they come from: the layer/archive writer and reader, the
 * header and hard-link helpers every writer shares, and the fd-based tree archiver that
 * export and cp use (and its open-and-verify step, which commit's layer export uses too).
 * Below snapshots/ and images/ (both use it); imports only core/ and sys/.
 */
export { TarWriter, type TarWriteEntry } from './writer';
export { readTar, decodePaxRecords, type TarEntry, type TarEntryType } from './reader';
export { devNumbers, HardLinks, readXattrs, specialEntry, statHeader, type InodeStats } from './entry';
export { archiveTree, fdPath, openChecked, openTreeRoot, type ArchiveTreeOptions, type TreeArchive, type TreeOperation, type TreeTop } from './tree';
