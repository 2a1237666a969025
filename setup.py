"""Build hook for the compiled engine; all metadata lives in pyproject.toml."""

from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# both extensions cimport the shared rules and include the Tables view; _engine.pyx includes its
# parts (one extension, one module): a change to any of them rebuilds what uses it
RULES = ["fast/_rules.pxd", "fast/table_view.pxi"]
ENGINE_PARTS = sorted(str(path) for path in Path("fast/engine").glob("*.pxi"))

extensions = [
    Extension(
        "liqspec.fast._kernels",
        ["fast/_kernels.pyx"],
        depends=RULES,
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # OpenMP splits the rows of the batch kernels across cores (prange, without the GIL)
        extra_compile_args=["-O3", "-fopenmp"],
        extra_link_args=["-fopenmp"],
    ),
    Extension(
        "liqspec.fast._engine",
        ["fast/_engine.pyx"],
        depends=RULES + ENGINE_PARTS,
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # the liquidation operations and the cascade: sequential by nature (LIQ-CASCADE-1)
        extra_compile_args=["-O3"],
    ),
]

# fast/ on the include path: both modules `cimport _rules` (fast/_rules.pxd: inline functions, structs
# and C declarations only, so nothing of it is imported at run time)
setup(ext_modules=cythonize(extensions, language_level=3, include_path=["fast"]))
