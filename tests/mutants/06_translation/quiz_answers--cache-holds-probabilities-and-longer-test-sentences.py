# loses: test_q7, test_q8
answer_q1 = "b"
answer_q2 = 10
answer_q3 = "b"
answer_q4 = 4000
answer_q5 = "a"
answer_q6 = 2
answer_q7 = "b"
answer_q8 = "a"
