/*
 * elf-phdrs-first IN OUT — copy an ELF core with its program headers moved
 * right after the ELF header and the section headers dropped.  QEMU 7.2 and
 * later write section headers first and program headers after them (offset
 * 192); makedumpfile 1.7.2 expects the program headers at offset 64 ("Can't
 * get the number of PT_LOAD").  Every segment keeps its file offset, so the
 * memory bytes are unchanged.  Refuses when data would be overwritten.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rd(const uint8_t *p, int n, int be)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
	return v;
}

static void wr(uint8_t *p, int n, int be, uint64_t v)
{
	for (int i = 0; i < n; i++)
		p[be ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: elf-phdrs-first IN OUT\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
	if (!in || !out) {
		perror("elf-phdrs-first");
		return 1;
	}
	uint8_t h[64];
	if (fread(h, 1, sizeof h, in) != sizeof h || memcmp(h, "\177ELF", 4) != 0) {
		fprintf(stderr, "elf-phdrs-first: %s is not an ELF file\n", argv[1]);
		return 1;
	}
	int is64 = h[4] == 2, be = h[5] == 2;
	int ehsize = is64 ? 64 : 52, phent = is64 ? 56 : 32;
	uint64_t phoff = is64 ? rd(h + 0x20, 8, be) : rd(h + 0x1c, 4, be);
	uint64_t phnum = rd(h + (is64 ? 0x38 : 0x2c), 2, be);
	if (phnum == 0xffff) {
		fprintf(stderr, "elf-phdrs-first: PN_XNUM cores are not handled\n");
		return 1;
	}
	uint8_t *ph = malloc(phnum * phent);
	if (fseek(in, (long)phoff, SEEK_SET) || fread(ph, phent, phnum, in) != phnum) {
		fprintf(stderr, "elf-phdrs-first: cannot read the program headers\n");
		return 1;
	}
	uint64_t end = (uint64_t)ehsize + phnum * phent;
	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *p = ph + i * phent;
		uint64_t off = is64 ? rd(p + 8, 8, be) : rd(p + 4, 4, be);
		uint64_t fsz = is64 ? rd(p + 32, 8, be) : rd(p + 16, 4, be);
		if (fsz && off < end) {
			fprintf(stderr, "elf-phdrs-first: segment %llu at offset %llu would be overwritten\n",
				(unsigned long long)i, (unsigned long long)off);
			return 1;
		}
	}
	/* copy everything, then rewrite the front */
	rewind(in);
	static uint8_t buf[1 << 20];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n) {
			perror("elf-phdrs-first");
			return 1;
		}
	if (is64) {
		wr(h + 0x20, 8, be, (uint64_t)ehsize); /* e_phoff */
		wr(h + 0x28, 8, be, 0);                /* e_shoff */
		wr(h + 0x34, 2, be, (uint64_t)ehsize); /* e_ehsize */
		wr(h + 0x3a, 2, be, 0);                /* e_shentsize, e_shnum, e_shstrndx */
		wr(h + 0x3c, 2, be, 0);
		wr(h + 0x3e, 2, be, 0);
	} else {
		wr(h + 0x1c, 4, be, (uint64_t)ehsize);
		wr(h + 0x20, 4, be, 0);
		wr(h + 0x28, 2, be, (uint64_t)ehsize);
		wr(h + 0x2e, 2, be, 0);
		wr(h + 0x30, 2, be, 0);
		wr(h + 0x32, 2, be, 0);
	}
	uint8_t *front = calloc(1, end);
	memcpy(front, h, (size_t)ehsize);
	memcpy(front + ehsize, ph, phnum * phent);
	if (fseek(out, 0, SEEK_SET) || fwrite(front, 1, end, out) != end || fclose(out)) {
		perror("elf-phdrs-first");
		return 1;
	}
	fclose(in);
	free(ph);
	free(front);
	return 0;
}
