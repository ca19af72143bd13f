/** The engine's queries: listings with docker's filters, and the inspect documents. */
export { addFilter, filterPairs, type FilterArgs } from './filters';
export { CONTAINER_STATUSES, containerFilter, containerSize, listContainers, type ContainerListEntry, type ContainerListOptions, type ContainerSize } from './container-filters';
export { imageFilter, imageSize, listImages, referenceMatcher } from './image-filters';
export { volumeFilter } from './volume-filters';
export { containerInspectDocument, imageInspectDocument, volumeInspectDocument, type ImageInspectSources } from './inspect';
