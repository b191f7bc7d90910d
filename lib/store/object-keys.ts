// How a volume's entries are named at the destination. Symlinks are stored the
// way rclone --links stores them: an object "<name>.rclonelink" holding the target.
export const LINK_SUFFIX = '.rclonelink';

export function objectKey(file: { path: string; type: string }): string {
  return file.type === 'symlink' ? `${file.path}${LINK_SUFFIX}` : file.path;
}

/** The volume path an object key stands for (objectKey's inverse). */
export function pathOfObject(key: string): string {
  return key.endsWith(LINK_SUFFIX) ? key.slice(0, -LINK_SUFFIX.length) : key;
}
