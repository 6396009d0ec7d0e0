"""The papers and books behind the lessons, with full citations.

`topics` names the lesson ids (see lessons/registry.py) that build on a reference; a lesson can
also cite one in its own `Lesson.references` (e.g. "Glorot & Bengio 2010"), which `cited_by`
matches by first author and year.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    key: str
    short: str  # how lessons cite it
    citation: str  # full citation, Markdown
    url: str
    why: str  # what the course takes from it
    topics: tuple = ()  # lesson ids that use it


REFERENCES: tuple[Reference, ...] = (
    Reference(
        "glorot2010", "Glorot & Bengio 2010",
        "Xavier Glorot and Yoshua Bengio. *Understanding the difficulty of training deep feedforward "
        "neural networks.* Proceedings of AISTATS, PMLR 9:249-256, 2010.",
        "https://proceedings.mlr.press/v9/glorot10a.html",
        "Saturating sigmoid layers, shrinking gradients with depth, and the Glorot (Xavier) initialisation.",
        ("vanishing_gradients", "relu_family"),
    ),
    Reference(
        "he2015", "He et al. 2015",
        "Kaiming He, Xiangyu Zhang, Shaoqing Ren and Jian Sun. *Delving deep into rectifiers: "
        "surpassing human-level performance on ImageNet classification.* ICCV 2015, pp. 1026-1034.",
        "https://arxiv.org/abs/1502.01852",
        "PReLU (a learned leak) and the He initialisation for ReLU networks.",
        ("vanishing_gradients", "relu_family"),
    ),
    Reference(
        "xu2015", "Xu et al. 2015",
        "Bing Xu, Naiyan Wang, Tianqi Chen and Mu Li. *Empirical evaluation of rectified activations in "
        "convolutional network.* arXiv:1505.00853, 2015.",
        "https://arxiv.org/abs/1505.00853",
        "ReLU, Leaky ReLU, PReLU and RReLU compared on the same networks (the table in the lectures).",
        ("relu_family",),
    ),
    Reference(
        "shang2016", "Shang et al. 2016",
        "Wenling Shang, Kihyuk Sohn, Diogo Almeida and Honglak Lee. *Understanding and improving "
        "convolutional neural networks via concatenated rectified linear units.* ICML 2016, PMLR 48:2217-2225.",
        "https://arxiv.org/abs/1603.05201",
        "CReLU: keep both the positive and the negative part of a pre-activation.",
        ("relu_family",),
    ),
    Reference(
        "clevert2015", "Clevert et al. 2015",
        "Djork-Arné Clevert, Thomas Unterthiner and Sepp Hochreiter. *Fast and accurate deep network "
        "learning by exponential linear units (ELUs).* arXiv:1511.07289, 2015 (ICLR 2016).",
        "https://arxiv.org/abs/1511.07289",
        "ELU: a smooth negative branch that pushes mean activations towards zero.",
        ("relu_family",),
    ),
    Reference(
        "hendrycks2016", "Hendrycks & Gimpel 2016",
        "Dan Hendrycks and Kevin Gimpel. *Gaussian error linear units (GELUs).* arXiv:1606.08415, 2016.",
        "https://arxiv.org/abs/1606.08415",
        "GELU and its sigmoid-weighted cousin SiLU.",
        ("relu_family",),
    ),
    Reference(
        "srivastava2014", "Srivastava et al. 2014",
        "Nitish Srivastava, Geoffrey Hinton, Alex Krizhevsky, Ilya Sutskever and Ruslan Salakhutdinov. "
        "*Dropout: a simple way to prevent neural networks from overfitting.* JMLR 15(56):1929-1958, 2014.",
        "https://jmlr.org/papers/v15/srivastava14a.html",
        "Dropout masks, inverted dropout (scale by 1/p) and weight scaling at test time.",
        ("regularization",),
    ),
    Reference(
        "ioffe2015", "Ioffe & Szegedy 2015",
        "Sergey Ioffe and Christian Szegedy. *Batch normalization: accelerating deep network training by "
        "reducing internal covariate shift.* ICML 2015, PMLR 37:448-456.",
        "https://arxiv.org/abs/1502.03167",
        "Batch normalisation: normalise each unit over the batch, then scale and shift.",
        ("vanishing_gradients", "optimizers"),
    ),
    Reference(
        "santurkar2018", "Santurkar et al. 2018",
        "Shibani Santurkar, Dimitris Tsipras, Andrew Ilyas and Aleksander Madry. *How does batch "
        "normalization help optimization?* NeurIPS 2018.",
        "https://arxiv.org/abs/1805.11604",
        "Questions the internal-covariate-shift story: batch norm mainly makes the loss surface smoother.",
        ("optimizers",),
    ),
    Reference(
        "kingma2015", "Kingma & Ba 2015",
        "Diederik P. Kingma and Jimmy Ba. *Adam: a method for stochastic optimization.* ICLR 2015. "
        "arXiv:1412.6980.",
        "https://arxiv.org/abs/1412.6980",
        "Adam (and Adamax): bias-corrected running means of the gradient and its square.",
        ("optimizers",),
    ),
    Reference(
        "loshchilov2019", "Loshchilov & Hutter 2019",
        "Ilya Loshchilov and Frank Hutter. *Decoupled weight decay regularization.* ICLR 2019. "
        "arXiv:1711.05101.",
        "https://arxiv.org/abs/1711.05101",
        "AdamW: weight decay applied to the weights, not added to the gradient.",
        ("optimizers", "regularization"),
    ),
    Reference(
        "duchi2011", "Duchi et al. 2011",
        "John Duchi, Elad Hazan and Yoram Singer. *Adaptive subgradient methods for online learning and "
        "stochastic optimization.* JMLR 12(61):2121-2159, 2011.",
        "https://jmlr.org/papers/v12/duchi11a.html",
        "Adagrad: per-parameter step sizes from the sum of squared gradients.",
        ("optimizers",),
    ),
    Reference(
        "tieleman2012", "Tieleman & Hinton 2012",
        "Tijmen Tieleman and Geoffrey Hinton. *Lecture 6.5 - RMSProp: divide the gradient by a running "
        "average of its recent magnitude.* COURSERA: Neural Networks for Machine Learning, 2012.",
        "https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf",
        "RMSprop: Adagrad with a forgetting running average.",
        ("optimizers",),
    ),
    Reference(
        "smith2017", "Smith 2017",
        "Leslie N. Smith. *Cyclical learning rates for training neural networks.* IEEE WACV 2017, "
        "pp. 464-472. arXiv:1506.01186.",
        "https://arxiv.org/abs/1506.01186",
        "Cyclical learning rates (the `sgd_cyclic` optimizer) and the learning-rate range test.",
        ("optimizers",),
    ),
    Reference(
        "loshchilov2017", "Loshchilov & Hutter 2017",
        "Ilya Loshchilov and Frank Hutter. *SGDR: stochastic gradient descent with warm restarts.* "
        "ICLR 2017. arXiv:1608.03983.",
        "https://arxiv.org/abs/1608.03983",
        "Cosine annealing of the learning rate with warm restarts.",
        ("optimizers",),
    ),
    Reference(
        "goodfellow2016", "Goodfellow et al. 2016",
        "Ian Goodfellow, Yoshua Bengio and Aaron Courville. *Deep Learning.* MIT Press, 2016.",
        "https://www.deeplearningbook.org/",
        "The textbook behind the course: maximum likelihood and losses (ch. 5-6), regularization (ch. 7), "
        "optimisation (ch. 8).",
        ("vanishing_gradients", "relu_family", "losses", "optimizers", "regularization"),
    ),
    Reference(
        "bergstra2012", "Bergstra & Bengio 2012",
        "James Bergstra and Yoshua Bengio. *Random search for hyper-parameter optimization.* "
        "JMLR 13(10):281-305, 2012.",
        "https://jmlr.org/papers/v13/bergstra12a.html",
        "Random search against grid search at the same budget: more distinct values of the hyperparameters "
        "that matter.",
        ("overfitting",),
    ),
)


def cited_by(ref: Reference, lessons) -> list:
    """Lessons that use `ref`: listed in its `topics`, or citing it in `Lesson.references`."""
    author, year = ref.short.split()[0].lower(), ref.short.split()[-1]
    out = []
    for lesson in lessons:
        cites = any(author in str(c).lower() and year in str(c) for c in lesson.references)
        if lesson.id in ref.topics or cites:
            out.append(lesson)
    return out


# Human names for lesson ids that are planned but may not exist yet.
TOPIC_NAMES = {
    "vanishing_gradients": "Vanishing gradients",
    "relu_family": "The ReLU family",
    "losses": "Losses from maximum likelihood",
    "optimizers": "Optimizers",
    "regularization": "Regularization",
}
