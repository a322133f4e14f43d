r"""Linear operators in TensorFlow: the one abstraction every solver is written against.

A :class:`LinearOperator` maps arrays whose trailing axes have shape ``ishape`` to arrays whose
trailing axes have shape ``oshape`` (leading axes are a batch). It gives the forward map
:math:`A x`, the adjoint :math:`A^H y`, the normal map :math:`A^H A x`, and composes with ``@``
(``(A @ B)(x) = A(B(x))``), in the spirit of SigPy's ``linop``. Everything works on
``complex64`` tensors and inside ``tf.function`` / XLA.

Solvers compile their loops once per operator *structure*: an operator lists the tensors it
carries (:meth:`LinearOperator.tensors`), can be rebuilt around other tensors of the same kind
inside a compiled graph (:meth:`LinearOperator.with_tensors`), and names its structure with a
hashable :meth:`LinearOperator.key`. Sizes are read from the tensors at run time, so one
compiled solver serves every image size.

Two optional properties let solvers take exact steps where the algebra allows:

* :meth:`LinearOperator.diagonal` — the weights ``w`` when the operator is an elementwise
  product ``x -> w * x`` (sampling masks);
* :meth:`LinearOperator.after_fft` — the operator ``B`` with ``A = B @ F`` for the orthonormal
  FFT ``F`` of a given layout, when ``A`` ends in one; with a diagonal ``B`` the normal map is
  diagonal in k-space and ADMM's x-update is exact.

:Examples:

>>> import numpy as np, tensorflow as tf
>>> from recon_core.ops import FFT2, Sampling
>>> A = Sampling(np.eye(4, dtype=bool)) @ FFT2((4, 4))
>>> A.ishape, A.oshape
((4, 4), (4, 4))
>>> x = tf.ones((4, 4), tf.complex64)
>>> float(tf.abs(A.forward(x))[2, 2])  # the DC sample, sqrt(16)
4.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

Shape = tuple  # of int (None where unknown inside a compiled graph)


def abs2(z: tf.Tensor) -> tf.Tensor:
    """``|z|^2`` of a complex tensor, as float32 (cheaper than ``abs(z) ** 2``)."""
    return tf.math.square(tf.math.real(z)) + tf.math.square(tf.math.imag(z))


def inner(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Real part of the inner product ``<a, b> = sum(conj(a) * b)`` over all axes."""
    return tf.math.real(tf.reduce_sum(tf.math.conj(a) * b))


def as_complex(x) -> tf.Tensor:
    """``x`` (NumPy array, tensor, real or complex) as a complex64 tensor."""
    t = tf.convert_to_tensor(x)
    if t.dtype != tf.complex64:
        t = tf.cast(t, tf.complex64)
    return t


def static_shape(t: tf.Tensor) -> Shape:
    """The static shape of ``t`` as a tuple (``None`` for axes unknown at trace time)."""
    return tuple(t.shape.as_list())


def check_trailing(x: tf.Tensor, expected: Shape, what: str) -> None:
    """Raise ``ValueError`` if the known trailing axes of ``x`` differ from ``expected``.

    Axes unknown at trace time (``None`` on either side) are not checked.
    """
    shape = static_shape(x)
    n = len(expected)
    if len(shape) < n:
        raise ValueError(f"{what}: expected an array ending in shape {expected}, got {shape}")
    for got, want in zip(shape[len(shape) - n:], expected):
        if got is not None and want is not None and got != want:
            raise ValueError(f"{what}: expected an array ending in shape {expected}, got {shape}")


class LinearOperator:
    """A linear map between arrays of trailing shape ``ishape`` and ``oshape``.

    Subclasses implement :meth:`apply` and :meth:`apply_adjoint` (unchecked) and, when they
    carry tensors, :meth:`tensors` / :meth:`with_tensors`; the public :meth:`forward`,
    :meth:`adjoint` and :meth:`normal` check shapes first.

    Attributes:
        ishape: trailing shape of the input, e.g. ``(H, W)``.
        oshape: trailing shape of the output, e.g. ``(C, H, W)``.
    """

    def __init__(self, ishape: Sequence, oshape: Sequence):
        self.ishape: Shape = tuple(ishape)
        self.oshape: Shape = tuple(oshape)

    # -- to implement -------------------------------------------------------------------------
    def apply(self, x: tf.Tensor) -> tf.Tensor:
        """Forward map without shape checks."""
        raise NotImplementedError

    def apply_adjoint(self, y: tf.Tensor) -> tf.Tensor:
        """Adjoint map without shape checks."""
        raise NotImplementedError

    def apply_normal(self, x: tf.Tensor) -> tf.Tensor:
        """``A^H A x`` without shape checks (override when cheaper than adjoint of forward)."""
        return self.apply_adjoint(self.apply(x))

    def tensors(self) -> tuple[tf.Tensor, ...]:
        """The tensors this operator carries (mask, maps, ...), in a fixed order."""
        return ()

    def with_tensors(self, tensors: Sequence[tf.Tensor]) -> LinearOperator:
        """The same operator built around ``tensors`` (same kinds as :meth:`tensors`)."""
        del tensors
        return self

    def key(self) -> tuple:
        """Hashable description of the structure (not the sizes or values)."""
        return (type(self).__name__,)

    # -- optional structure -------------------------------------------------------------------
    def diagonal(self) -> tf.Tensor | None:
        """Weights ``w`` (complex64) if the operator is ``x -> w * x``, else ``None``."""
        return None

    def after_fft(self, centred: bool) -> LinearOperator | None:
        """``B`` such that ``self == B @ FFT2(centred=centred)``, or ``None``."""
        del centred
        return None

    def norm_bound(self) -> float | None:
        """An upper bound of the operator norm ``||A||``, or ``None`` if unknown."""
        return None

    def graph_forward(self) -> bool:
        """Whether :meth:`apply` and :meth:`apply_adjoint` run inside compiled (XLA) solver
        loops. The NUFFT's do not (it calls a C library); its :meth:`apply_normal` does, and
        solvers then work from ``A^H y`` and the normal map alone."""
        return True

    def has_fourier_diagonal(self, centred: bool) -> bool:
        """Whether :meth:`normal_fourier_diagonal` gives a diagonal (decided from the
        structure alone, without computing it)."""
        b = self.after_fft(centred)
        return b is not None and b.diagonal() is not None

    def normal_fourier_diagonal(self, x: tf.Tensor, centred: bool) -> tf.Tensor | None:
        """``d`` (float32) with ``A^H A = F^H diag(d) F`` for the FFT ``F`` of that layout.

        Known when the operator is ``B @ F`` with ``B`` diagonal (``d = |b|^2``), or by an
        override (periodic finite differences). ``x`` is a tensor of the input's size, for
        operators whose eigenvalues depend only on the size. ``None`` when not diagonal.
        """
        del x
        b = self.after_fft(centred)
        w = None if b is None else b.diagonal()
        return None if w is None else abs2(w)

    # -- public, checked ----------------------------------------------------------------------
    def forward(self, x) -> tf.Tensor:
        """``A x`` for ``x`` of trailing shape :attr:`ishape` (complex64)."""
        x = as_complex(x)
        check_trailing(x, self.ishape, f"{self.name} forward")
        return self.apply(x)

    def adjoint(self, y) -> tf.Tensor:
        """``A^H y`` for ``y`` of trailing shape :attr:`oshape` (complex64)."""
        y = as_complex(y)
        check_trailing(y, self.oshape, f"{self.name} adjoint")
        return self.apply_adjoint(y)

    def normal(self, x) -> tf.Tensor:
        """``A^H A x`` for ``x`` of trailing shape :attr:`ishape`."""
        x = as_complex(x)
        check_trailing(x, self.ishape, f"{self.name} normal")
        return self.apply_normal(x)

    __call__ = forward

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def H(self) -> LinearOperator:  # noqa: N802 - the usual notation
        """The adjoint operator."""
        return Adjoint(self)

    @property
    def N(self) -> LinearOperator:  # noqa: N802
        """The normal operator ``A^H A`` (solvers call :meth:`apply_normal` directly)."""
        return Composed([Adjoint(self), self])

    def __matmul__(self, other: LinearOperator) -> LinearOperator:
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Composed([self, other])

    def __repr__(self) -> str:
        return f"<{self.name}: {self.ishape} -> {self.oshape}>"


def _shapes_compatible(a: Shape, b: Shape) -> bool:
    return len(a) == len(b) and all(p is None or q is None or p == q for p, q in zip(a, b))


def _chain_shape(ops: Sequence[LinearOperator]) -> Shape:
    """Output shape of applying ``ops`` last to first; leading axes an op does not know are a
    batch it carries along (``FFT2`` on coil images, for example)."""
    shape = ops[-1].oshape
    for prev, op in zip(ops[::-1], ops[-2::-1]):
        n = len(op.ishape)
        if len(shape) < n or not _shapes_compatible(shape[len(shape) - n:], op.ishape):
            raise ValueError(
                f"cannot compose {op.name} (input {op.ishape}) with {prev.name} "
                f"(output {shape})"
            )
        shape = shape[: len(shape) - n] + op.oshape
    return shape


class Composed(LinearOperator):
    """``ops[0] @ ops[1] @ ... @ ops[-1]``: applies the last operator first."""

    def __init__(self, ops: Sequence[LinearOperator]):
        flat: list[LinearOperator] = []
        for op in ops:
            flat.extend(op.ops if isinstance(op, Composed) else [op])
        super().__init__(flat[-1].ishape, _chain_shape(flat))
        self.ops: tuple[LinearOperator, ...] = tuple(flat)

    @property
    def name(self) -> str:
        return " @ ".join(op.name for op in self.ops)

    def apply(self, x):
        for op in reversed(self.ops):
            x = op.apply(x)
        return x

    def apply_adjoint(self, y):
        for op in self.ops:
            y = op.apply_adjoint(y)
        return y

    def apply_normal(self, x):
        # (A_0 B)^H (A_0 B) = B^H (A_0^H A_0) B: the outermost operator's own normal map (the
        # NUFFT's Toeplitz form, a mask's weights squared) instead of its forward and adjoint.
        inner_ops = self.ops[1:]
        for op in reversed(inner_ops):
            x = op.apply(x)
        x = self.ops[0].apply_normal(x)
        for op in inner_ops:
            x = op.apply_adjoint(x)
        return x

    def graph_forward(self):
        return all(op.graph_forward() for op in self.ops)

    def tensors(self):
        return tuple(t for op in self.ops for t in op.tensors())

    def with_tensors(self, tensors):
        tensors = list(tensors)
        rebuilt = []
        for op in self.ops:
            n = len(op.tensors())
            rebuilt.append(op.with_tensors(tensors[:n]))
            tensors = tensors[n:]
        return Composed(rebuilt)

    def key(self):
        return ("Composed",) + tuple(op.key() for op in self.ops)

    def after_fft(self, centred):
        tail = self.ops[-1].after_fft(centred)
        if tail is None:
            return None
        rest = list(self.ops[:-1]) + ([] if isinstance(tail, Identity) else [tail])
        if not rest:
            return Identity(self.oshape)
        return rest[0] if len(rest) == 1 else Composed(rest)

    def diagonal(self):
        weights = [op.diagonal() for op in self.ops]
        if any(w is None for w in weights):
            return None
        out = weights[0]
        for w in weights[1:]:
            out = out * w
        return out

    def norm_bound(self):
        bounds = [op.norm_bound() for op in self.ops]
        if any(b is None for b in bounds):
            return None
        return float(np.prod(bounds))


class Identity(LinearOperator):
    """The identity on arrays of trailing shape ``shape``."""

    def __init__(self, shape: Sequence):
        super().__init__(shape, shape)

    def apply(self, x):
        return x

    def apply_adjoint(self, y):
        return y

    def diagonal(self):
        return tf.constant(1.0, tf.complex64)

    def norm_bound(self):
        return 1.0



class Adjoint(LinearOperator):
    """``A^H`` as an operator of its own."""

    def __init__(self, op: LinearOperator):
        super().__init__(op.oshape, op.ishape)
        self.op = op

    @property
    def name(self) -> str:
        return f"{self.op.name}^H"

    def apply(self, x):
        return self.op.apply_adjoint(x)

    def apply_adjoint(self, y):
        return self.op.apply(y)

    def tensors(self):
        return self.op.tensors()

    def with_tensors(self, tensors):
        return Adjoint(self.op.with_tensors(tensors))

    def key(self):
        return ("Adjoint", self.op.key())

    def graph_forward(self):
        return self.op.graph_forward()

    def norm_bound(self):
        return self.op.norm_bound()


def fourier_layout(ops: Sequence[LinearOperator]) -> bool | None:
    """The FFT layout (centred True/False) in which every op's normal map is diagonal, or None.

    Solvers use it to take exact steps: with ``A = M F`` and periodic differences ``D``, the
    system ``(A^H A + rho D^H D) x = b`` is solved by one FFT pair.
    """
    for centred in (False, True):
        if all(op.has_fourier_diagonal(centred) for op in ops):
            return centred
    return None


def estimate_norm(op: LinearOperator, shape: Sequence[int], n_iter: int = 30, seed: int = 0) -> float:
    """Operator norm ``||A||`` by power iteration on ``A^H A`` (eager), slightly over-estimated.

    Args:
        op: the operator.
        shape: full input shape to iterate on (trailing axes must match ``op.ishape``).
        n_iter: power iterations.
        seed: seed of the random start vector.

    Returns:
        ``1.01 * sqrt(lambda_max(A^H A))`` (the margin keeps step-size rules safe).
    """
    rng = np.random.default_rng(seed)
    v = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    v = tf.constant(v / np.linalg.norm(v))
    lam = 0.0
    for _ in range(n_iter):
        w = op.normal(v)
        lam = float(tf.sqrt(tf.reduce_sum(abs2(w))))
        if lam == 0.0:
            return 0.0
        v = w / tf.cast(lam, tf.complex64)
    return 1.01 * float(np.sqrt(lam))
