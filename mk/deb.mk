# mk/deb.mk — `make deb`: a Debian binary package of what `make install`
# installs (prefix /usr, programs stripped), assembled by mk/mkdeb with
# dpkg-shlibdeps and dpkg-deb, then checked by lintian (LINTIAN= skips it;
# its errors fail the build).

DEB_VERSION ?= $(SAMEPAGE_VERSION)
DEB_ROOT     = $(B)/deb/root
DEB_FILE     = $(B)/deb/samepage_$(DEB_VERSION)_$(shell dpkg --print-architecture).deb
LINTIAN     ?= lintian

deb: all man
	rm -rf $(B)/deb
	@$(MAKE) --no-print-directory install-strip DESTDIR='$(abspath $(DEB_ROOT))' prefix=/usr
	mk/mkdeb '$(DEB_ROOT)' '$(DEB_VERSION)' '$(DEB_FILE)'
	$(if $(LINTIAN),$(LINTIAN) --fail-on error '$(DEB_FILE)')
