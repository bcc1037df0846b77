# Firefox ESR and WebKitGTK (its MiniBrowser, under Xvfb) for the cross-engine acceptance tests in
# tests/engines/ (Chromium comes from 10-chromium.sh). Debian packages only; never a downloaded browser.
browsers_missing=()
[ -x /usr/bin/firefox-esr ] || browsers_missing+=(firefox-esr)
[ -x /usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser ] || browsers_missing+=(libwebkit2gtk-4.1-0)
command -v xvfb-run >/dev/null 2>&1 || browsers_missing+=(xvfb)
if [ ${#browsers_missing[@]} -gt 0 ]; then
  echo "ci: installing ${browsers_missing[*]} for the cross-engine tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${browsers_missing[@]}" >/dev/null
fi
unset browsers_missing
