// Served by `hgm serve`: the page asks the server. `hgm export-html` replaces this file with
// the run's data (window.HGM_DATA), so the exported page needs no server.
window.HGM_DATA = null;
