/* A mapped page followed by an unmapped one, for EFAULT cases, in the
 * testbed (tb_map) and on Linux (mmap, then unmap the second page). The
 * includer has <sys/mman.h> on Linux, <testbed.h> in the testbed. */
#ifndef PAGE_HOLE_H
#define PAGE_HOLE_H

#define PAGE 4096UL

static unsigned char *map_page_before_hole(void)
{
#ifdef __linux__
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || munmap(p + PAGE, PAGE) != 0)
        return NULL;
    return p;
#else
    return tb_map(PAGE);
#endif
}

#endif
