/** The `daebug` command: no exports; see `run` in the package's main entry. */
export {};
