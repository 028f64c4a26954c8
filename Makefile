# ikesniff: set-up, demo, tests, lint, lab and benchmark.
# Everything the project needs is installed from here: Debian packages through apt-get, Python
# packages into .venv through pip.

VENV      := .venv
PYTHON    := $(VENV)/bin/python
DEMO_PCAP := pcaps/ikev2-psk.pcap
# libreswan (pluto) conflicts with strongswan-charon in Debian (both ship /usr/sbin/ipsec), so it is not
# installed: `make libreswan` unpacks its .deb into $(LIBRESWAN_ROOT) for the lab (lab/README.md); its
# run-time libraries are ordinary packages.
LIBRESWAN_ROOT := /opt/ikesniff-lab/libreswan
LIBRESWAN_DEPS := libnss3-tools libnss3 libnspr4 libldns3 libunbound8 libevent-core-2.1-7 \
	libevent-pthreads-2.1-7 libcurl3-nss libcap-ng0 libaudit1 libldap-2.5-0 libpam0g libcrypt1
DEB_PACKAGES := tshark tcpdump iproute2 iptables tcpreplay libpcap0.8 \
	strongswan-charon strongswan-swanctl libcharon-extra-plugins strongswan-pki \
	libstrongswan-standard-plugins util-linux chromium \
	prometheus systemd vpnc ike-scan gcc libc6-dev $(LIBRESWAN_DEPS)

.PHONY: setup deb libreswan demo test test-fast lint lab lab-clean bench bench-check bench-quick replay docs clean

setup: deb $(VENV)/.installed

# apt-get only when a package is missing, so repeated runs stay quick.
deb:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

libreswan: deb
	@test -x $(LIBRESWAN_ROOT)/usr/libexec/ipsec/pluto || { \
		tmp=$$(mktemp -d) && cd $$tmp && apt-get download -qq libreswan && \
		mkdir -p $(LIBRESWAN_ROOT) && dpkg-deb -x libreswan_*.deb $(LIBRESWAN_ROOT) && rm -rf $$tmp; }

# Editable: the tests import the checkout. (tests/test_install.py builds the wheel and sdist and
# installs them non-editable in a fresh venv, as users get it.) setuptools announces every editable
# install with a notice; it says nothing about this project, so it is not shown.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	PYTHONWARNINGS='ignore:Editable installation:UserWarning' $(PYTHON) -m pip install -q -e '.[test]'
	touch $@

demo: setup
	$(VENV)/bin/ikesniff -r $(DEMO_PCAP)

# Everything: unit, tshark oracle, fuzzing, the wheel install, and the strongSwan lab when root.
test: setup
	$(VENV)/bin/pytest -q

# The unit tests alone: no lab, no tshark oracle, nothing marked slow.
test-fast: setup
	$(VENV)/bin/pytest -q -m 'not lab and not slow and not oracle'

lint: setup
	$(VENV)/bin/ruff check dissectors ikesniff tests lab bench
	$(VENV)/bin/mypy --strict ikesniff dissectors

# Regenerates every capture in pcaps/ from real strongSwan peers (root: network namespaces).
lab: setup libreswan
	$(PYTHON) lab/run.py --all

lab-clean:
	$(PYTHON) lab/run.py --cleanup

# Speed and memory against tshark on generated captures (bench/README.md); about 7 minutes.
bench: setup
	$(PYTHON) bench/run.py

bench-check: setup
	$(PYTHON) bench/run.py --check

bench-quick: setup
	$(PYTHON) bench/run.py --scale 0.1 --runs 1

# The report examples in docs/ (Markdown, HTML and its screenshot in headless chromium).
docs: setup
	$(PYTHON) -m ikesniff.report.example

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
