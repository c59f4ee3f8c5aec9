package store

// modernc.org/sqlite is built against one exact modernc.org/libc; a newer
// libc chosen by version selection can break it at run time. Importing libc
// here makes it a direct requirement in go.mod, pinned to the version
// modernc.org/sqlite's own go.mod names; upgrade the two together.
import _ "modernc.org/libc"
